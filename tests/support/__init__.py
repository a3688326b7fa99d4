"""What the tests share: node builders, one wait-until, one fake clock, one fake broker message,
read-only SQL on a node's file, and finding or starting a RabbitMQ (`broker`, `amqp`)."""
