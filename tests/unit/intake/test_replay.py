from __future__ import annotations

import math

import pytest

from services.intake.domain.replay import SourceOutOfOrder, merge_ordered, pacing_delay

S = 1_000_000_000


def first(item: tuple[int, str]) -> int:
    return item[0]


def test_merge_orders_by_key_across_sources() -> None:
    merged = merge_ordered({"a": [(1, "a1"), (5, "a5")], "b": [(2, "b2"), (3, "b3")]}, first)
    assert [tag for _, tag in merged] == ["a1", "b2", "b3", "a5"]


def test_merge_ties_break_by_source_name_then_line_order_whatever_the_dict_order() -> None:
    sources = {"zeta": [(1, "z1"), (1, "z2")], "alpha": [(1, "a1"), (1, "a2")]}
    merged = [tag for _, tag in merge_ordered(sources, first)]
    reordered = [tag for _, tag in merge_ordered(dict(reversed(sources.items())), first)]
    assert merged == reordered == ["a1", "a2", "z1", "z2"]


def test_merge_is_lazy_and_handles_empty_sources() -> None:
    def endless() -> object:
        i = 0
        while True:
            yield (i, "e")
            i += 1

    merged = merge_ordered({"e": endless(), "empty": []}, first)  # type: ignore[dict-item]
    assert [next(merged)[0] for _ in range(3)] == [0, 1, 2]


def test_source_going_back_in_time_raises_naming_it() -> None:
    with pytest.raises(SourceOutOfOrder, match="'b' item 2"):
        list(merge_ordered({"a": [(1, "x")], "b": [(5, "y"), (4, "z")]}, first))


def test_real_time_pacing_waits_for_event_spacing() -> None:
    assert pacing_delay(1.0, 100 * S, 0, 103 * S, 1 * S) == pytest.approx(2.0)


def test_faster_speed_divides_the_wait() -> None:
    assert pacing_delay(10.0, 0, 0, 10 * S, 0) == pytest.approx(1.0)
    assert pacing_delay(0.5, 0, 0, 1 * S, 0) == pytest.approx(2.0)


def test_late_event_is_due_now() -> None:
    assert pacing_delay(1.0, 0, 0, 1 * S, 5 * S) == 0.0


@pytest.mark.parametrize("speed", [0.0, math.inf])
def test_zero_or_infinite_speed_never_waits(speed: float) -> None:
    assert pacing_delay(speed, 0, 0, 10**6 * S, 0) == 0.0


def test_pacing_is_exact_at_real_epoch_timestamps() -> None:
    first_ts = 1_723_161_253_937_085_768
    start = 1_800_000_000_000_000_000
    delay = pacing_delay(1.0, first_ts, start, first_ts + 1_000, start)
    assert delay == pytest.approx(1e-6)


@pytest.mark.parametrize("speed", [-1.0, math.nan])
def test_negative_or_nan_speed_is_refused(speed: float) -> None:
    with pytest.raises(ValueError):
        pacing_delay(speed, 0, 0, 0, 0)
