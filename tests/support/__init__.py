"""What tests share besides fixtures: factories, the reader of stored samples, clients.

`factories` makes users, streams, dashboards, tokens and alert rules with
sensible defaults and keyword overrides; `samples` makes, stores and reads back
samples (`stored_samples` is the one reader of what a stream has stored);
`web` holds HTTP clients and headers; `sockets` the /ws/live/ helpers;
`producers` a hand-moved clock and what producer tests check; `boards` what
a dashboard looks like to a refused request. Fixtures stay in conftest.py files.
"""
