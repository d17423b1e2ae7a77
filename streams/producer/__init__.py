"""Where samples are made: the producer that runs sources under leases, and pushed samples."""
