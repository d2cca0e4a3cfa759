"""CTR and rerank training from a real Neo4j: runs and recommendations written back, epochs chosen on
valid only, text vectors and knowledge contrast wired in, missing text refused clearly."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from test_ctr_data_neo4j import random_ratings, write_movielens

from kgrec import api
from kgrec.cli import main
from kgrec.cli.ctr import ctr, rerank
from kgrec.ctr_training import attach_text, load_candidate_lists, load_ctr_data, train_ctr, train_rerank
from knowledge.text_features import MissingTextError, vector_keys
from recommender.ctr import registry as ctr_registry
from recommender.ctr import trainer as ctr_trainer
from recommender.ctr.trainer import CTRTrainConfig, ctr_evaluate, train_ctr_model
from recommender.rerank import registry as rerank_registry

TINY = {"embedding_dim": 4, "adapter_hidden": 8, "epochs": 2, "batch_size": 32, "lr": 1e-2}
TINY_CTR = {**TINY, "mlp_dims": (8,)}
TEXT_DIM = 6


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture()
def loaded(store, dataset_name, tmp_path) -> str:
    api.ingest_movielens(store, write_movielens(tmp_path / "ml", random_ratings()), dataset_name, progress=False)
    return dataset_name


def write_vectors(store, dataset: str, label: str, name: str, seed: int = 0, source: str = "test") -> None:
    """Random unit vectors written as node properties under ``text_vec_NAME`` (what 'kgrec text encode' stores)."""
    ids = [r["id"] for r in store.read(f"ctr/{label.lower()}s", dataset=dataset)]
    vectors = np.random.default_rng(seed).normal(size=(len(ids), TEXT_DIM))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = [[int(i), v.tolist(), "sha"] for i, v in zip(ids, vectors, strict=True)]
    store.write(f"text/set_{label.lower()}_vectors", rows=rows, dataset=dataset, encoder="test-random",
                source=source, **vector_keys(label, name).params())


def run_node(store, dataset: str, run_id: str) -> dict:
    rows = store.read_with(lambda tx: tx.run(
        "MATCH (r:TrainingRun {run_id: $r}) RETURN r.model AS model, r.config AS config, r.metrics AS metrics",
        r=run_id).data())
    assert len(rows) == 1
    return {"model": rows[0]["model"], "config": json.loads(rows[0]["config"]), "metrics": json.loads(rows[0]["metrics"])}


def recommended(store, dataset: str, model: str) -> list[tuple[int, int, str]]:
    """(user, item, run) of every TOP_K list entry of ``model``; checks the RECOMMENDED view says the same."""
    lists = store.read_with(lambda tx: tx.run(
        "MATCH (u:User {dataset: $d})-[t:TOP_K]->(r:TrainingRun {model: $m}) "
        "RETURN u.id AS u, t.items AS items, t.scores AS scores, r.run_id AS run", d=dataset, m=model).data())
    assert all(len(r["items"]) == len(r["scores"]) and r["scores"] == sorted(r["scores"], reverse=True) for r in lists)
    rows = [(r["u"], i, r["run"]) for r in lists for i in r["items"]]
    edges = store.read_with(lambda tx: tx.run(
        "MATCH (u:User {dataset: $d})-[r:RECOMMENDED {model: $m}]->(i:Item) RETURN u.id AS u, i.id AS i, "
        "r.run_id AS run, r.rank AS rank", d=dataset, m=model).data())
    assert sorted((e["u"], e["i"], e["run"]) for e in edges) == sorted(rows)
    ranks = {(r["u"], i): n for r in lists for n, i in enumerate(r["items"], 1)}
    assert all(ranks[(e["u"], e["i"])] == e["rank"] for e in edges)
    return rows


def test_cli_choices_follow_the_registries() -> None:
    choices = {command.name: list(next(p.type.choices for p in command.params if p.name == "model"))
               for command in (ctr, rerank)}
    assert choices == {"ctr": ctr_registry.names(), "rerank": rerank_registry.names()}


def test_id_only_ctr_writes_run_and_recommendations_among_test_targets(store, loaded) -> None:
    outcome = train_ctr(store, loaded, "din", seeds=[1, 2], k=3, **TINY_CTR)
    assert outcome.seeds == [1, 2] and len(outcome.results) == 2
    assert 0 <= outcome.summary["auc"]["mean"] <= 1 and outcome.summary["logloss"]["mean"] > 0
    node = run_node(store, loaded, outcome.run_id)
    assert node["model"] == "din" and node["metrics"]["kind"] == "ctr" and node["metrics"]["protocol"] == "valid"
    assert node["config"]["text"] is None and node["config"]["model_config"]["embedding_dim"] == 4
    assert set(node["metrics"]["test_mean_std"]) == {"auc", "logloss"}
    edges = recommended(store, loaded, "din")
    assert len(edges) == outcome.recommendations_written > 0
    data = load_ctr_data(store, loaded)
    test = data.splits["test"]
    targets = {(int(data.user_ids[u]), int(data.item_ids[i])) for u, i in zip(test.users, test.items, strict=True)}
    assert {(u, i) for u, i, _ in edges} <= targets and {run for *_, run in edges} == {outcome.run_id}
    per_user = {u: sum(1 for v, _, _ in edges if v == u) for u, _, _ in edges}
    assert max(per_user.values()) <= 3
    # each list as long as the user's distinct test targets allow (lists of different lengths side by side)
    assert per_user == {u: min(3, sum(1 for v, _ in targets if v == u)) for u in {v for v, _ in targets}}


def test_epoch_is_chosen_on_valid_and_test_scored_once(store, loaded, monkeypatch) -> None:
    data = load_ctr_data(store, loaded)
    calls: list[str] = []

    def spy(model, data_, split, config):
        calls.append(split)
        return ctr_evaluate(model, data_, split, config)

    monkeypatch.setattr(ctr_trainer, "ctr_evaluate", spy)
    config = CTRTrainConfig(lr=5e-2, batch_size=16, epochs=5, patience=10, seed=3)
    result = train_ctr_model(data, "deepfm", config, embedding_dim=4, mlp_dims=(8,))
    assert calls == ["valid"] * 5 + ["test"]
    aucs = [log.valid["auc"] for log in result.history]
    assert result.best_epoch == int(np.argmax(aucs)) + 1 and result.valid == result.history[result.best_epoch - 1].valid
    assert ctr_evaluate(result.model, data, "valid", config) == pytest.approx(result.valid)   # best weights restored
    assert result.seconds_per_epoch > 0 and "uu" not in result.history[0].losses


def test_text_and_contrast_reach_the_model(store, loaded) -> None:
    write_vectors(store, loaded, "Item", "rand")
    item_only = train_ctr(store, loaded, "deepfm", text="rand", write_back=False, **TINY_CTR)
    assert item_only.results[0].model.spec.text_dim == TEXT_DIM and item_only.results[0].model.text_on
    assert any("mean item vector of the profile history" in note for note in item_only.notes)
    data, _ = attach_text(store, load_ctr_data(store, loaded), "rand")
    seq = data.sequences
    for user in np.flatnonzero(seq.cut > 0)[:3]:   # user text from the profile only, never from targets
        expected = data.item_text[torch.from_numpy(seq.profile(user))].mean(0)
        assert torch.allclose(data.user_text[user], expected, atol=1e-6)
    write_vectors(store, loaded, "User", "rand", seed=1)
    outcome = train_ctr(store, loaded, "dien", text="rand", contrast=True, k=2, **TINY_CTR)
    assert not any("profile history" in note for note in outcome.notes)
    losses = outcome.results[0].history[0].losses
    assert losses["uu"] > 0 and losses["ii"] > 0 and losses["total"] > losses["task"]
    node = run_node(store, loaded, outcome.run_id)
    assert node["config"]["text"] == "rand" and node["config"]["contrast"] is True
    assert 0 <= node["metrics"]["test_mean_std"]["auc"]["mean"] <= 1
    assert len(recommended(store, loaded, "dien")) == outcome.recommendations_written > 0


def test_user_vectors_from_train_split_descriptions_are_not_used(store, loaded) -> None:
    """User.description is written from the ranking train split, which can hold CTR targets."""
    write_vectors(store, loaded, "Item", "leak")
    write_vectors(store, loaded, "User", "leak", seed=1, source="description")
    data, notes = attach_text(store, load_ctr_data(store, loaded), "leak")
    assert any("not used" in note and "User.description" in note for note in notes)
    user = int(np.flatnonzero(data.sequences.cut > 0)[0])
    expected = data.item_text[torch.from_numpy(data.sequences.profile(user))].mean(0)
    assert torch.allclose(data.user_text[user], expected, atol=1e-6)


def test_rerank_writes_its_run_and_ranks_candidates(store, loaded) -> None:
    outcome = train_rerank(store, loaded, "prm", k=4, hidden_dim=8, n_heads=1, ff_dim=8, head_dims=(8,), **TINY)
    assert any("wrote candidate list 'sampled'" in note for note in outcome.notes)
    assert set(outcome.summary) == {"ndcg@3", "map@3", "ndcg@7", "map@7"}
    assert all(0 <= v["mean"] <= 1 for v in outcome.summary.values())
    assert outcome.results[0].select_metric == "ndcg@7"
    node = run_node(store, loaded, outcome.run_id)
    assert node["metrics"]["kind"] == "rerank" and node["config"]["list"] == "sampled"
    lists = load_candidate_lists(store, load_ctr_data(store, loaded), "sampled").splits["test"]
    data = load_ctr_data(store, loaded)
    allowed = {(int(data.user_ids[u]), int(data.item_ids[i])) for u, row, mask in
               zip(lists.users, lists.items, lists.mask, strict=True) for i in row[mask]}
    edges = recommended(store, loaded, "prm")
    assert len(edges) == outcome.recommendations_written == 4 * len(lists)
    assert {(u, i) for u, i, _ in edges} <= allowed
    again = train_rerank(store, loaded, "prm", write_back=False, hidden_dim=8, n_heads=1, ff_dim=8, head_dims=(8,), **TINY)
    assert not any("wrote candidate list" in note for note in again.notes)   # the stored list is reused
    assert again.summary == outcome.summary                                  # same seed, same lists: same run


def test_missing_text_names_the_command(store, loaded) -> None:
    with pytest.raises(MissingTextError, match="kgrec text encode"):
        train_ctr(store, loaded, "din", text="absent", **TINY_CTR)


def test_cli_train_ctr_prints_metrics_and_refuses_missing_text(store, loaded, cli_env) -> None:
    runner = CliRunner()
    base = ["train-ctr", "--model", "deepfm", "--dataset", loaded, "--epochs", "1", "--embedding-dim", "4",
            "--batch-size", "32", "--threads", "1"]
    done = runner.invoke(main, [*base, "--no-write"], env=cli_env)
    assert done.exit_code == 0, done.output
    assert "test  auc" in done.output and "logloss" in done.output
    refused = runner.invoke(main, [*base, "--text", "absent"], env=cli_env)
    assert refused.exit_code == 2 and "kgrec text encode" in refused.output


def test_evaluate_lists_ctr_runs_with_their_metrics(store, loaded, cli_env) -> None:
    outcome = train_ctr(store, loaded, "deepfm", seeds=[3], k=2, **TINY_CTR)
    listed = CliRunner().invoke(main, ["evaluate", "--dataset", loaded], env=cli_env)
    assert listed.exit_code == 0, listed.output
    line = next(row for row in listed.output.splitlines() if row.startswith(outcome.run_id))
    assert "(ctr, valid)" in line and "auc" in line and "logloss" in line


def test_cli_train_ctr_text_recipe_encodes_on_demand_once(store, loaded, cli_env) -> None:
    """`kgrec train ctr --text facts` encodes the items' facts with the packaged MiniLM the first time
    and reuses the vectors after; a recipe whose text is absent names the command that writes it."""
    runner = CliRunner()
    base = ["train", "ctr", "--model", "deepfm", "--dataset", loaded, "--epochs", "1", "--embedding-dim", "4",
            "--batch-size", "32", "--threads", "1", "--no-write"]
    first = runner.invoke(main, [*base, "--text", "facts"], env=cli_env)
    assert first.exit_code == 0, first.output
    n_items = len(store.read("ctr/items", dataset=loaded))
    assert f"{n_items:,} encoded now" in first.output and "facts_minilm" in first.output
    again = runner.invoke(main, [*base, "--text", "facts"], env=cli_env)
    assert again.exit_code == 0 and "0 encoded now" in again.output, again.output
    refused = runner.invoke(main, [*base, "--text", "kellmrec"], env=cli_env)
    assert refused.exit_code == 2 and "kgrec enrich items" in refused.output, refused.output


def test_train_group_dispatches_every_kind(cli_env) -> None:
    """`kgrec train` lists a subcommand per ranking model plus ctr and rerank; the first names stay."""
    from kgrec.cli.train import MODEL_NAMES

    listed = CliRunner().invoke(main, ["train", "--help"])
    assert listed.exit_code == 0
    commands = listed.output.split("Commands:")[1]
    assert all(f"  {name} " in commands for name in (*MODEL_NAMES, "ctr", "rerank"))
    for args in (["train", "rerank", "--help"], ["train-rerank", "--help"], ["train-ctr", "--help"]):
        shown = CliRunner().invoke(main, args)
        assert shown.exit_code == 0 and "--model" in shown.output and "kellmrec" in shown.output
    unknown = CliRunner().invoke(main, ["train", "nosuchmodel", "--dataset", "x"])
    assert unknown.exit_code == 2 and "No such command 'nosuchmodel'" in unknown.output


def _profile_prompt_titles(prompt: str) -> tuple[set[str], set[str]]:
    """(liked, not liked) titles listed in a user prompt as the fake server echoed it."""
    liked = {line[2:].split(": ")[0] for line in prompt.splitlines() if line.startswith("- ")}
    marker = "s they did not like: "
    disliked = next((set(line.split(marker)[1].split("; ")) for line in prompt.splitlines() if marker in line), set())
    return liked, disliked


def test_user_descriptions_see_the_ctr_profile_only_and_feed_the_kellmrec_recipe(store, loaded) -> None:
    """`describe_users(history="ctr-profile")` prompts with exactly each user's profile history (liked
    and not liked apart, by the CTR label rule), never a target; `--text kellmrec` then encodes those
    descriptions as the users' own vectors instead of the profile mean of item vectors."""
    from chat_server import FakeChatServer, http_backend

    from kg_store.errors import ConfigError
    from knowledge.descriptions import describe_users
    from knowledge.text_recipes import prepare_text

    ratings = random_ratings()                       # what the `loaded` fixture ingested
    with FakeChatServer() as server, pytest.raises(ConfigError, match="CTR split"):
        describe_users(store, loaded, http_backend(server), history="ctr-profile", progress=False)
    load_ctr_data(store, loaded)                     # draws and stores the CTR split and profile cuts
    with FakeChatServer() as server:                 # answers echo the prompt; a model id of its own, so
        backend = http_backend(server, model=f"model-{loaded}")   # no earlier run's cached answer is reused
        report = describe_users(store, loaded, backend, history="ctr-profile", progress=False)
    rows = store.read_with(lambda tx: tx.run(
        "MATCH (u:User {dataset: $d}) RETURN u.id AS id, u.ctr_profile_cut AS cut, u.description AS train_text, "
        "u.description_profile AS text", d=loaded).data())
    titles = {r["id"]: r["title"] for r in store.read_with(lambda tx: tx.run(
        "MATCH (i:Item {dataset: $d}) RETURN i.id AS id, i.title AS title", d=loaded).data())}
    assert report.runs[0].sent == report.subjects == len(rows)
    for row in rows:
        mine = sorted((r for r in ratings if r[0] == row["id"]), key=lambda r: (r[3], r[1]))
        profile, targets = mine[:row["cut"]], mine[row["cut"]:]
        liked, disliked = _profile_prompt_titles(row["text"])
        assert liked == {titles[i] for _, i, rating, _ in profile if rating > 3}
        assert disliked == {titles[i] for _, i, rating, _ in profile if rating <= 3}
        assert targets and not any(titles[i] in row["text"] for _, i, _, _ in targets)
        assert row["train_text"] is None                # the train-history description is another property
    store.write_with(lambda tx: tx.run("MATCH (i:Item {dataset: $d}) SET i.description = 'About ' + i.title",
                                       d=loaded).consume())
    prepared = prepare_text(store, loaded, "kellmrec")
    assert prepared.user_vectors == "profile_description_minilm" and prepared.user_coverage == 1.0
    assert prepared.encoded == len(titles) + len(rows)
    assert prepare_text(store, loaded, "kellmrec").encoded == 0       # cached by text hash
    data, notes = attach_text(store, load_ctr_data(store, loaded), prepared.vectors, prepared.user_vectors)
    assert not any("profile history" in note for note in notes)
    item_mean_user = data.item_text[torch.from_numpy(data.sequences.profile(0))].mean(0)
    assert not torch.allclose(data.user_text[0], item_mean_user, atol=1e-3)
    assert torch.allclose(data.user_text.norm(dim=1), torch.ones(len(rows)), atol=1e-4)   # one stored vector each
