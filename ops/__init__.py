"""Operations: the broker's users, permissions and definitions, and `fengqiao deploy`."""
