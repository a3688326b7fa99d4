"""`fengqiao demo`: a whole sample city, embedded in one process or on RabbitMQ (SAMPLE DATA)."""
