#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import asyncio
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        # uvloop's loop makes each socket write cheaper (see docs/performance.md).
        import uvloop
    except ImportError:
        pass
    else:
        if os.environ.get("PULSEBOARD_UVLOOP", "1") != "0":
            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
