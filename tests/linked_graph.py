"""A small graph in the schema of Neo4j's recommendations example, made up by the tests, for linked datasets.

``(:User {userId})-[:RATED {rating, timestamp}]->(:Movie {movieId, title, plot, year})-[:IN_GENRE]->
(:Genre {name})``, ``(:Person {name})-[:ACTED_IN|DIRECTED]->(:Movie)``. Each graph's labels carry a
random suffix (``User_ab12cd``), so graphs of tests running side by side on one server never meet;
the relationship types are the example's own. Synthetic throughout: no row of any public data set.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg_store.connection import GraphStore

GENRES = ["Comedy", "Drama", "Science fiction", "Horror", "Romance", "Documentary"]
WORDS = ["harbour", "winter", "robot", "letter", "garden", "storm", "violin", "desert", "island", "train"]


@dataclass
class ForeignGraph:
    """Names of one test graph's labels, and what was made."""

    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    ratings: int = 0
    clock: int = 1_000_000

    def label(self, role: str) -> str:
        return f"{role}_{self.suffix}"

    @property
    def labels(self) -> list[str]:
        return [self.label(role) for role in ("User", "Movie", "Genre", "Person")]

    def mapping(self, path: Path, *, extra: str = "", interactions: str | None = None, drop: str = "") -> Path:
        """A mapping file for this graph; ``interactions`` replaces that section, ``drop`` leaves a section out."""
        sections = {
            "users": f'[users]\nlabel = "{self.label("User")}"\nkey = "userId"\n',
            "items": f'[items]\nlabel = "{self.label("Movie")}"\nkey = "movieId"\ntitle = "title"\ntext = "plot"\n',
            "interactions": interactions if interactions is not None else
            '[interactions]\ntype = "RATED"\nrating = "rating"\npositive_threshold = 3.5\ntimestamp = "timestamp"\n',
            "kg": "".join(f'[[kg]]\ntype = "{kind}"\ndirection = "{way}"\nlabel = "{self.label(label)}"\nkey = "name"\n'
                          for kind, way, label in (("IN_GENRE", "out", "Genre"), ("ACTED_IN", "in", "Person"),
                                                   ("DIRECTED", "in", "Person"))),
            "writeback": '[writeback]\ntype = "KGREC_RECOMMENDS"\n',
        }
        path.write_text("\n".join(text for name, text in sections.items() if name != drop) + extra)
        return path


def _run(store: GraphStore, query: str, **params: Any) -> list[dict[str, Any]]:
    return store.write_with(lambda tx: [r.data() for r in tx.run(query, params)])


def build(store: GraphStore, users: int = 40, movies: int = 30, seed: int = 7) -> ForeignGraph:
    """Make the graph: movies with genres, cast and a director; users who rate movies of their favourite genres higher."""
    graph = ForeignGraph()
    try:
        _fill(store, graph, users, movies, random.Random(seed))
    except BaseException:
        remove(store, graph)
        raise
    return graph


def _fill(store: GraphStore, graph: ForeignGraph, users: int, movies: int, rng: random.Random) -> None:
    movie_rows = [{"id": f"m{k}", "title": f"The {WORDS[k % 10].title()} {k}", "year": 1960 + k,
                   "plot": f"A story about a {WORDS[k % 10]} and a {WORDS[(k * 3) % 10]}.",
                   "genres": sorted({GENRES[k % 6], GENRES[(k * 5 + 1) % 6]}),
                   "actors": [f"Actor {(k + j) % 12}" for j in range(3)], "director": f"Director {k % 5}"}
                  for k in range(movies)]
    L = {role: graph.label(role) for role in ("User", "Movie", "Genre", "Person")}
    _run(store, f"UNWIND $names AS name CREATE (:{L['Genre']} {{name: name}})", names=GENRES)
    people = sorted({p for m in movie_rows for p in m["actors"] + [m["director"]]})
    _run(store, f"UNWIND $names AS name CREATE (:{L['Person']} {{name: name}})", names=people)
    _run(store, f"""UNWIND $rows AS row
        CREATE (m:{L['Movie']} {{movieId: row.id, title: row.title, plot: row.plot, year: row.year}})
        WITH m, row
        CALL (m, row) {{ UNWIND row.genres AS g MATCH (x:{L['Genre']} {{name: g}}) CREATE (m)-[:IN_GENRE]->(x) }}
        CALL (m, row) {{ UNWIND row.actors AS a MATCH (p:{L['Person']} {{name: a}}) CREATE (p)-[:ACTED_IN]->(m) }}
        CALL (m, row) {{ MATCH (p:{L['Person']} {{name: row.director}}) CREATE (p)-[:DIRECTED]->(m) }}""",
         rows=movie_rows)
    _run(store, f"UNWIND $ids AS id CREATE (:{L['User']} {{userId: id}})", ids=[f"u{k}" for k in range(users)])
    for k in range(users):
        favourite = GENRES[k % 6]
        chosen = rng.sample(range(movies), min(9, movies))
        add_ratings(store, graph, [(f"u{k}", f"m{m}", 5.0 if favourite in movie_rows[m]["genres"]
                                    else rng.choice([2.0, 3.0, 4.0, 4.5])) for m in chosen])


def add_ratings(store: GraphStore, graph: ForeignGraph, rows: list[tuple[str, str, float]]) -> None:
    """RATED relationships with timestamps later than every earlier one of this graph."""
    stamped = []
    for user, movie, rating in rows:
        graph.clock += 60
        stamped.append({"user": user, "movie": movie, "rating": rating, "ts": graph.clock})
    _run(store, f"""UNWIND $rows AS row
        MATCH (u:{graph.label('User')} {{userId: row.user}}), (m:{graph.label('Movie')} {{movieId: row.movie}})
        CREATE (u)-[:RATED {{rating: row.rating, timestamp: row.ts}}]->(m)""", rows=stamped)
    graph.ratings += len(rows)


def stamp_temporal(store: GraphStore, graph: ForeignGraph) -> None:
    """Give every RATED relationship ``when`` (a datetime) and ``day`` (a date): the n-th rating (by
    ``timestamp``) is day n after 2024-01-01, so both keep the order of ``timestamp``."""
    _run(store, f"""MATCH (:{graph.label('User')})-[r:RATED]->(:{graph.label('Movie')})
        WITH r, duration({{days: (r.timestamp - 1000000) / 60}}) AS later
        SET r.when = datetime('2024-01-01T00:00:00Z') + later, r.day = date('2024-01-01') + later""")


def add_user(store: GraphStore, graph: ForeignGraph, user: str) -> None:
    _run(store, f"CREATE (:{graph.label('User')} {{userId: $user}})", user=user)


def add_movie(store: GraphStore, graph: ForeignGraph, movie: str, genre: str) -> None:
    _run(store, f"""MATCH (g:{graph.label('Genre')} {{name: $genre}})
        CREATE (m:{graph.label('Movie')} {{movieId: $movie, title: 'New ' + $movie, plot: 'Fresh.', year: 2024}})
        CREATE (m)-[:IN_GENRE]->(g)""", movie=movie, genre=genre)


def snapshot(store: GraphStore, graph: ForeignGraph, skip_type: str = "KGREC_RECOMMENDS") -> dict[str, Any]:
    """Every node of the graph (labels, properties) and every relationship touching one (type, ends,
    properties) except ``skip_type``: what kgrec must leave exactly as it was."""
    nodes = _run(store, "MATCH (n) WHERE any(l IN labels(n) WHERE l IN $labels) "
                        "RETURN elementId(n) AS id, labels(n) AS labels, properties(n) AS props", labels=graph.labels)
    edges = _run(store, "MATCH (a)-[r]->(b) WHERE (any(l IN labels(a) WHERE l IN $labels) "
                        "OR any(l IN labels(b) WHERE l IN $labels)) AND type(r) <> $skip "
                        "RETURN elementId(r) AS id, type(r) AS type, elementId(a) AS a, elementId(b) AS b, "
                        "properties(r) AS props", labels=graph.labels, skip=skip_type)
    return {"nodes": {row["id"]: (sorted(row["labels"]), row["props"]) for row in nodes},
            "edges": {row["id"]: (row["type"], row["a"], row["b"], row["props"]) for row in edges}}


def recommendations(store: GraphStore, graph: ForeignGraph) -> list[dict[str, Any]]:
    """Every KGREC_RECOMMENDS relationship of the graph: user key, movie key and the relationship's properties."""
    return _run(store, f"MATCH (u:{graph.label('User')})-[r:KGREC_RECOMMENDS]->(m:{graph.label('Movie')}) "
                       "RETURN u.userId AS user, m.movieId AS movie, properties(r) AS props ORDER BY user, r.rank")


def rated(store: GraphStore, graph: ForeignGraph, threshold: float) -> set[tuple[str, str]]:
    return {(row["u"], row["m"]) for row in _run(
        store, f"MATCH (u:{graph.label('User')})-[r:RATED]->(m:{graph.label('Movie')}) WHERE r.rating >= $t "
               "RETURN u.userId AS u, m.movieId AS m", t=threshold)}


def user_genres(store: GraphStore, graph: ForeignGraph) -> dict[str, list[str]]:
    """Each user's genres of the movies rated 5: the phrases the tests cluster into interests."""
    rows = _run(store, f"MATCH (u:{graph.label('User')})-[r:RATED]->(:{graph.label('Movie')})-[:IN_GENRE]->(g) "
                       "WHERE r.rating = 5.0 RETURN u.userId AS user, collect(DISTINCT g.name) AS genres")
    return {row["user"]: sorted(row["genres"]) for row in rows}


def remove(store: GraphStore, graph: ForeignGraph) -> None:
    _run(store, "MATCH (n) WHERE any(l IN labels(n) WHERE l IN $labels) DETACH DELETE n", labels=graph.labels)
