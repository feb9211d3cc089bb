from datetime import datetime, timedelta, timezone

from tests.sim_dates import recent_monday


def test_recent_monday_is_a_monday_far_enough_back_and_within_a_week_of_it():
    today = datetime.now(timezone.utc).date()
    for back in range(0, 15):
        day = recent_monday(back)
        assert day.weekday() == 0
        assert timedelta(days=back) <= today - day < timedelta(days=back + 7)
