"""Where a resume is whole: from the first sample retention kept, and up to the resume limit.

A client that had every sample up to `since` gets the rest whole when the
history still holds `since + 1` on and there are at most PULSEBOARD_MAX_RESUME
of them; else it is told `recovered: false` and resumes from the floor.
"""

from __future__ import annotations

from typing import Any

from streams.live.catchup import resume_start


def test_a_resume_right_before_the_oldest_kept_sample_is_whole() -> None:
    # Retention kept seqs 50..100: a client that has up to 49 misses nothing.
    assert resume_start(49, 50, 100) == (49, True)


def test_a_resume_from_before_what_retention_kept_is_not_whole() -> None:
    assert resume_start(48, 50, 100) == (49, False)


def test_a_resume_of_exactly_the_limit_is_whole_and_one_more_is_not(settings: Any) -> None:
    settings.PULSEBOARD_MAX_RESUME = 10
    assert resume_start(90, 1, 100) == (90, True)
    assert resume_start(89, 1, 100) == (90, False)


def test_a_resume_beyond_the_stream_starts_from_its_end() -> None:
    assert resume_start(120, 1, 100) == (100, False)
