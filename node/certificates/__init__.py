"""Energy certificates: the book the event mirror keeps, and the producer's agent that certifies surplus."""
