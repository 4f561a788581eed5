"""The deployment harness's own arithmetic: overlapping runs, the profile's limits, the log tail."""

from __future__ import annotations

from haven_pipelines_tests.deploy.harness import USER_TAG, log_tail, max_overlap, tag_limits


def test_max_overlap_counts_runs_in_progress_at_one_moment():
    assert max_overlap([]) == 0
    assert max_overlap([(0, 10), (2, 4), (3, 12)]) == 3
    assert max_overlap([(0, 5), (5, 9), (9, 12)]) == 1  # one ends as the next starts: never two at once
    assert max_overlap([(0, 5), (1, 6), (5, 8), (6, 9)]) == 2
    # Callers pass generators (one per user's runs): the ends must count too.
    assert max_overlap((start, start + 1) for start in range(5)) == 1


def test_the_deploy_profile_limits_runs_per_user():
    assert tag_limits()[USER_TAG] == 2


def test_log_tail_leaves_out_colour_codes_blank_lines_and_dagster_api_warnings():
    text = (
        "\x1b[32m2026-12-02 00:00:01\x1b[0m - SensorDaemon - INFO - Checking\n"
        "2026-12-02 00:00:02 - dagster - WARNING - decorator_utils.py:232: BetaWarning: Parameter `owners` ...\n"
        "  return fn(*args, **kwargs)\n"
        "\n"
        "2026-12-02 00:00:03 - run - ERROR - boom\n"
        "  Traceback line kept\n"
    )
    assert log_tail(text, 10) == [
        "2026-12-02 00:00:01 - SensorDaemon - INFO - Checking",
        "2026-12-02 00:00:03 - run - ERROR - boom",
        "  Traceback line kept",
    ]
    assert log_tail(text, 1) == ["  Traceback line kept"]
