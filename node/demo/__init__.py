"""`gridcommons demo`: a whole community of five households on one machine, in accelerated time."""
