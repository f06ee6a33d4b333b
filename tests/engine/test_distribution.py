"""The report's compact distributions: exact counts, robust ranges, bounded size."""

from __future__ import annotations

import json

import numpy as np

from modelmonitor.api.documents import to_document
from modelmonitor.engine.distribution import (
    CATEGORIES_SHOWN,
    DISPLAY_BINS,
    BinCounter,
    category_counts,
    display_edges,
    sorted_histogram,
)


def test_histogram_counts_every_value_once_and_matches_numpy() -> None:
    rng = np.random.default_rng(1)
    reference, current = np.sort(rng.normal(0, 1, 5000)), np.sort(rng.normal(0.5, 1, 3000))
    picture = sorted_histogram(reference, current)
    assert len(picture.edges) == DISPLAY_BINS + 1 and len(picture.reference) == DISPLAY_BINS
    assert sum(picture.reference) + sum(picture.reference_outside) == 5000
    assert sum(picture.current) + sum(picture.current_outside) == 3000
    expected = np.histogram(current, bins=np.array(picture.edges))[0]
    assert picture.current == expected.tolist()


def test_one_outlier_or_an_infinity_does_not_squash_the_range() -> None:
    rng = np.random.default_rng(2)
    reference = np.sort(rng.normal(0, 1, 10_000))
    current = np.sort(np.concatenate([rng.normal(0, 1, 9_998), [1e9, np.inf]]))
    picture = sorted_histogram(reference, current)
    assert picture.edges[-1] < 5  # the 99.5 % quantiles, not the outlier
    assert picture.current_outside[1] >= 2  # the outlier and +inf, counted above
    assert max(picture.current) > 500  # the bulk spreads over the bins


def test_every_value_infinite_still_gives_a_picture() -> None:
    edges = display_edges(np.array([np.inf, np.inf]), np.array([-np.inf]))
    assert np.all(np.diff(edges) > 0)
    counter = BinCounter(edges)
    counter.add(np.array([np.inf, -np.inf, 0.5]))
    assert counter.outside == (1, 1) and int(counter.counts.sum()) == 1


def test_a_constant_column_gets_a_range_around_its_value() -> None:
    edges = display_edges(np.full(10, 3.0), np.full(5, 3.0))
    assert edges[0] < 3.0 < edges[-1]


def test_categories_keep_the_largest_on_either_side_and_mark_new_ones() -> None:
    reference = {f"r{i}": 100 - i for i in range(40)}
    current = {"r0": 50, "brand-new": 400}
    counts = category_counts(reference, current)
    assert len(counts.categories) == CATEGORIES_SHOWN
    assert counts.categories[0] == "brand-new" and counts.new == ["brand-new"]
    assert sum(counts.reference) + counts.reference_other == sum(reference.values())
    assert sum(counts.current) + counts.current_other == sum(current.values())


def test_ordered_categories_keep_their_numeric_order() -> None:
    counts = category_counts({3: 10, 1: 5, 2: 50}, {1: 7, 2: 3, 3: 1}, ordered=True)
    assert counts.categories == ["1", "2", "3"] and counts.reference == [5, 50, 10]


def test_a_picture_stays_small_whatever_the_rows() -> None:
    rng = np.random.default_rng(3)
    numbers = sorted_histogram(np.sort(rng.lognormal(10, 2, 1_000_000)), np.sort(rng.lognormal(10, 2, 1_000_000)))
    words = category_counts({f"c{i}": i + 1 for i in range(10_000)}, {f"c{i}": 2 * i + 1 for i in range(10_000)})
    assert len(json.dumps(to_document(numbers))) < 700
    assert len(json.dumps(to_document(words))) < 700
