"""CTR samples and rerank lists built from a tiny MovieLens-format dataset on a real Neo4j."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from kg_store.ctr_arrays import CTRSplitConfig
from kg_store.errors import ConfigError
from kgrec import api
from kgrec.ctr_training import (
    load_candidate_lists,
    load_ctr_data,
    prepare_ctr_split,
    store_ranker_lists,
    store_sampled_lists,
)
from recommender.errors import DataError

N_USERS, N_ITEMS = 20, 15
Rating = tuple[int, int, int, int]   # user, item, rating, ts


def write_movielens(folder: Path, ratings: list[Rating]) -> Path:
    """A MovieLens-100K folder: u.user, u.item (19 genre flags), u.data."""
    folder.mkdir()
    jobs = ["writer", "doctor", "other"]
    (folder / "u.user").write_text("".join(f"{u}|{15 + 3 * u}|{'MF'[u % 2]}|{jobs[u % 3]}|0000{u}\n"
                                           for u in range(1, N_USERS + 1)))
    (folder / "u.item").write_text("".join(
        f"{i}|Movie {i} ({1930 + 5 * i})|01-Jan-{1930 + 5 * i}||http://example.org/{i}|"
        + "|".join("1" if g in (i % 19, (3 * i) % 19) else "0" for g in range(19)) + "\n"
        for i in range(1, N_ITEMS + 1)))
    (folder / "u.data").write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in ratings))
    return folder


def random_ratings(seed: int = 5) -> list[Rating]:
    """6-11 ratings per user; timestamps with deliberate ties; each user's last two (in time) are liked and not."""
    rng = np.random.default_rng(seed)
    ratings = []
    for u in range(1, N_USERS + 1):
        items = rng.choice(np.arange(1, N_ITEMS + 1), rng.integers(6, 12), replace=False)
        mine = sorted(((u, int(i), int(rng.integers(1, 6)), 880_000_000 + int(rng.integers(0, 6)) * 100) for i in items),
                      key=lambda r: (r[3], r[1]))
        mine[-1], mine[-2] = (*mine[-1][:2], 5, mine[-1][3]), (*mine[-2][:2], 1, mine[-2][3])
        ratings += mine
    return ratings


@pytest.fixture()
def ratings() -> list[Rating]:
    return random_ratings()


@pytest.fixture()
def loaded(store, dataset_name, tmp_path, ratings) -> str:
    api.ingest_movielens(store, write_movielens(tmp_path / "ml", ratings), dataset_name, progress=False)
    return dataset_name


def timeline(ratings: list[Rating]) -> dict[int, list[Rating]]:
    """Each user's ratings ordered by (ts, item id): the rule the module docstring states."""
    by_user: dict[int, list[Rating]] = {}
    for r in sorted(ratings, key=lambda r: (r[3], r[1])):
        by_user.setdefault(r[0], []).append(r)
    return by_user


def stored_split(store, dataset: str) -> dict[int, tuple[str, int, int]]:
    rows = store.read_with(lambda tx: tx.run(
        "MATCH (u:User {dataset: $d}) RETURN u.id AS u, u.ctr_split AS s, u.ctr_profile_cut AS c, "
        "u.ctr_profile_ts AS t", d=dataset).data())
    return {r["u"]: (r["s"], r["c"], r["t"]) for r in rows}


def test_split_is_drawn_once_stored_and_reused(store, loaded) -> None:
    report = prepare_ctr_split(store, loaded)
    assert report.drawn and report.users == {"train": 16, "valid": 2, "test": 2}
    first = stored_split(store, loaded)
    assert sum(1 for s, _, _ in first.values() if s == "train") == 16
    again = prepare_ctr_split(store, loaded)
    assert not again.drawn and again.config == CTRSplitConfig() and again.users == report.users
    assert stored_split(store, loaded) == first
    with pytest.raises(ConfigError, match="already has a CTR split"):
        prepare_ctr_split(store, loaded, CTRSplitConfig(seed=7))
    redrawn = prepare_ctr_split(store, loaded, CTRSplitConfig(seed=7), redraw=True)
    assert redrawn.drawn and stored_split(store, loaded) != first
    dataset = store.read_with(lambda tx: tx.run(
        "MATCH (d:Dataset {name: $d}) RETURN d.ctr_split_seed AS seed, d.ctr_profile_share AS share",
        d=loaded).single().data())
    assert dataset == {"seed": 7, "share": 0.5}


def test_profile_cut_and_leakage_rule(store, loaded, ratings) -> None:
    data = load_ctr_data(store, loaded, max_history=4)
    lines = timeline(ratings)
    split = stored_split(store, loaded)
    item_of = {int(i): k for k, i in enumerate(data.item_ids)}
    when = {(u, i): (t, i) for u, i, _, t in ratings}
    profile = data.profile_matrix()
    for user, line in lines.items():
        cut = max(1, len(line) // 2)
        assert split[user][1] == cut and split[user][2] == line[cut - 1][3]
        u = int(np.searchsorted(data.user_ids, user))
        assert set(profile[u].indices) == {item_of[i] for _, i, _, _ in line[:cut]}
    seen = 0
    for name in ("train", "valid", "test"):
        s = data.splits[name]
        for row in range(len(s)):
            user, target = int(data.user_ids[s.users[row]]), int(data.item_ids[s.items[row]])
            assert split[user][0] == name
            line = lines[user]
            position = [i for _, i, _, _ in line].index(target)
            assert position >= split[user][1]                    # a target is never in the profile
            history = [int(data.item_ids[h]) for h in s.history[row, :s.history_len[row]]]
            assert history == [i for _, i, _, _ in line[:position]][-4:]   # the last 4 before it, oldest first
            assert all(when[user, h] < when[user, target] for h in history)
            assert s.labels[row] == float(line[position][2] > 3)
            seen += 1
    expected_targets = sum(len(line) - max(1, len(line) // 2) for line in lines.values())
    assert seen == expected_targets == sum(data.report.samples.values())
    assert data.report.users_without_targets == 0
    assert data.spec.n_users == N_USERS and data.spec.n_items == N_ITEMS and data.spec.n_genres > 0
    assert dict(data.spec.user_fields)["gender"] == 3 and data.user_fields.min() >= 0


def test_batches_pad_per_batch_with_masks(store, loaded) -> None:
    data = load_ctr_data(store, loaded, max_history=4)
    train = data.splits["train"]
    batches = list(data.batches("train", batch_size=7))
    assert sum(len(b) for b in batches) == len(train)
    row = 0
    for batch in batches:
        lengths = train.history_len[row:row + len(batch)]
        assert batch.history_items.shape == (len(batch), lengths.max())
        assert batch.history_mask.sum(dim=1).tolist() == lengths.tolist()
        assert (batch.history_items[~batch.history_mask] == 0).all()
        assert batch.history_mask[:, 0].all()          # every target has at least the profile as history
        assert batch.user_fields.shape == (len(batch), 3) and batch.genres.shape[1] == data.spec.n_genres
        assert batch.user_text is None and batch.history_text is None
        row += len(batch)
    shuffled = list(data.batches("train", batch_size=7, shuffle=True, seed=3))
    again = list(data.batches("train", batch_size=7, shuffle=True, seed=3))
    assert all(torch.equal(a.items, b.items) for a, b in zip(shuffled, again, strict=True))
    assert sorted(torch.cat([b.items for b in shuffled]).tolist()) == sorted(train.items.tolist())

    text = data.with_text(item_text=np.arange(N_ITEMS * 2, dtype=np.float32).reshape(N_ITEMS, 2) + 1)
    batch = next(text.batches("train", batch_size=7))
    assert text.spec.text_dim == 2 and batch.item_text.shape == (len(batch), 2)
    assert torch.equal(batch.history_text[..., 0] != 0, batch.history_mask)
    with pytest.raises(DataError, match="user_text"):
        data.with_text(user_text=np.zeros((3, 2)))


def test_swing_partners_come_from_profiles(store, loaded) -> None:
    data = load_ctr_data(store, loaded, max_history=4)
    positives = data.swing_positives()
    batch = next(data.batches("train", batch_size=8))
    partners = data.partners(batch, positives)
    expected_users = [p if p >= 0 else u for u, p in zip(batch.users.tolist(), positives.user_positive[batch.users].tolist(),
                                                          strict=True)]
    assert partners.users.tolist() == expected_users and len(partners) == len(batch)
    assert partners.items.tolist() == [p if p >= 0 else i for i, p in
                                       zip(batch.items.tolist(), positives.item_positive[batch.items].tolist(), strict=True)]
    for row, user in enumerate(partners.users.tolist()):
        tail = data.sequences.profile(user)[-4:].tolist()
        assert partners.history_items[row][partners.history_mask[row]].tolist() == tail


def test_sampled_lists_are_persisted_once(store, loaded) -> None:
    data = load_ctr_data(store, loaded)
    first = store_sampled_lists(store, data, n_negatives=4, seed=11)
    assert first.written and first.users + first.users_without_positives == N_USERS
    lists = load_candidate_lists(store, data)
    again = store_sampled_lists(store, data, n_negatives=4, seed=99)   # reused, not redrawn
    assert not again.written and again.candidates == first.candidates
    reread = load_candidate_lists(store, data)
    for name in ("train", "valid", "test"):
        a, b = lists.splits[name], reread.splits[name]
        for field in ("users", "items", "labels", "mask"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
        for row, user in enumerate(a.users):
            real = a.items[row][a.mask[row]]
            labels = a.labels[row][a.mask[row]]
            assert set(real[labels == 1]) == set(data.sequences.positive_targets(user))
            negatives = real[labels == 0]
            assert len(negatives) == 4 and not set(negatives) & set(data.sequences.interacted(user))
            assert data.sequences.split[user] == ("train", "valid", "test").index(name)
    batch = next(lists.rerank_batches("train", batch_size=5))
    width = int(batch.mask.sum(dim=1).max())
    assert batch.items.shape == (len(batch), width) and batch.initial_scores is None
    assert (batch.labels[~batch.mask] == 0).all() and (batch.items[~batch.mask] == 0).all()
    assert batch.item_fields.shape == (len(batch), width, 1)
    redrawn = store_sampled_lists(store, data, n_negatives=2, seed=99, redraw=True)
    assert redrawn.written and redrawn.candidates == first.candidates - 2 * first.users


def test_ranker_lists_keep_order_scores_and_labels(store, loaded) -> None:
    data = load_ctr_data(store, loaded)
    users = np.flatnonzero(data.sequences.split >= 0)[:3]
    items = np.array([[0, 1, 2], [3, 4, -1], [5, 6, 7]])
    scores = np.array([[0.9, 0.5, 0.1], [0.8, 0.7, 0.0], [0.3, 0.2, 0.1]])
    report = store_ranker_lists(store, data, "bpr_top3", users, items, scores)
    assert report.written and report.candidates == 8
    lists = load_candidate_lists(store, data, "bpr_top3")
    found = {int(u): (a.items[r][a.mask[r]].tolist(), a.labels[r][a.mask[r]].tolist(), a.scores[r][a.mask[r]].tolist())
             for a in lists.splits.values() for r, u in enumerate(a.users)}
    for user, row, score in zip(users, items, scores, strict=True):
        liked = set(data.sequences.positive_targets(user).tolist())
        real = [int(i) for i in row if i >= 0]
        assert found[int(user)][0] == real
        assert found[int(user)][1] == [float(i in liked) for i in real]
        np.testing.assert_allclose(found[int(user)][2], score[: len(real)], rtol=1e-6)
    with pytest.raises(DataError, match="shape"):
        store_ranker_lists(store, data, "bad", users, items, scores[:, :2])
    with pytest.raises(DataError, match="no candidate list 'never'"):
        load_candidate_lists(store, data, "never")


def test_a_split_with_one_label_is_refused(store, dataset_name, tmp_path) -> None:
    liked = [(u, i, 5, 880_000_000 + i) for u in range(1, N_USERS + 1) for i in range(1, 5)]
    api.ingest_movielens(store, write_movielens(tmp_path / "ml", liked), dataset_name, progress=False)
    with pytest.raises(DataError, match="'train' split .* only positive"):
        load_ctr_data(store, dataset_name)
