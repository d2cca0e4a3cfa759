"""A typed registry of the public datasets kgrec knows how to fetch and read.

Each :class:`CatalogEntry` says where every file of a dataset comes from (URLs pinned to a commit
or to a fixed release, never to a branch), the sha256 that proves the bytes are the right ones,
which ingest source reads the folder (``layout``), and the terms and citation that come with it.
Downloading is :mod:`ingest.download`; finding a folder on disk is :mod:`ingest.locate`.

Where every sha256 below comes from (a hash is only written here when we hold the bytes or found
it published; an unknown one is ``None`` and ``kgrec data fetch`` then asks for
``--trust-unverified``):

* ``dbbook2014``, all 8 files: computed with ``sha256sum`` from the copy shipped in the ``kgrec``
  package's ``shipped/datasets/dbbook2014/``, which is byte-identical to ``laowangzi/CIKGRec`` at
  commit ``4cd310f`` (checked against the upstream git blob ids). Verified.
* ``book-crossing`` and ``ml1m`` (CIKGRec): no published checksums found; ``None``. The file list
  is that of dbbook2014 (the layout CIKGRec's loader reads; a derived repository,
  ``xiangmli/SeKGRec``, holds the same list files for both).
* ``amazon-book``, ``last-fm``, ``yelp2018`` (KGAT): no published checksums found; ``None``.
* ``ml-100k.zip`` (4,924,029 bytes) and ``ml-1m.zip`` (5,917,549 bytes): sha256 and size from
  TensorFlow Datasets' ``tensorflow_datasets/url_checksums/movielens.txt``; the same values are
  pinned independently by other projects (e.g. tensorflow/models' MovieLens pipeline for ml-1m).
  Verified.
* Members of those archives (used to check a folder a user unpacked by hand): ``u.data``,
  ``u.item``, ``u.user`` and ``README`` of ML-100K, ``ratings.dat``, ``movies.dat`` and
  ``users.dat`` of ML-1M are published by several projects that download the GroupLens files, and
  equal our hashes of GroupLens copies whose git blob ids agree across independent repositories.
  ``u.genre``, ``u.info``, ``u.occupation`` (ML-100K) and ``README`` (ML-1M) rest on those
  copies alone, so they are ``None`` here (presence is checked; a fetched folder records the
  hashes it extracted in its manifest).

Commits: CIKGRec is pinned to ``4cd310f``, the commit the shipped copy was taken from; only this
abbreviated id is known to us (GitHub resolves abbreviated commit ids in raw URLs). KGAT is pinned
to ``8a287ef59f1c90f82591569c650632023c12f363``, a commit whose README documents all three
datasets; that each file exists at it is not confirmed, and a 404 would say so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Literal

from kg_store.errors import DatasetNotFoundError
from kg_store.graph_model import check_dataset_name

Layout = Literal["cikg", "kgat", "movielens", "recbole"]
LAYOUTS: tuple[str, ...] = ("cikg", "kgat", "movielens", "recbole")

_SHA256 = re.compile(r"[0-9a-f]{64}")
_COMMIT = re.compile(r"[0-9a-f]{7,40}")


def check_relative_path(path: str) -> str:
    """``path`` if it is a relative POSIX path that stays inside its folder, else ValueError."""
    parts = PurePosixPath(path).parts
    if not path or path.startswith(("/", "\\")) or "\\" in path or ":" in path or ".." in parts or "." in parts:
        raise ValueError(f"{path!r} is not a plain relative path")
    return path


def _check_sha256(value: str | None) -> None:
    if value is not None and not _SHA256.fullmatch(value):
        raise ValueError(f"{value!r} is not a lower-case hex sha256")


@dataclass(frozen=True)
class ArchiveMember:
    """One file taken out of a zip archive: its path in the dataset folder (and, below the
    entry's ``archive_root``, in the archive), with its sha256 when known."""

    path: str
    sha256: str | None = None
    size: int | None = None

    def __post_init__(self) -> None:
        check_relative_path(self.path)
        _check_sha256(self.sha256)


@dataclass(frozen=True)
class RemoteFile:
    """One download. ``path`` is its name in the dataset folder; for a zip (``unzip=True``) it is
    the archive's name, which is removed once its ``members`` are extracted and checked."""

    path: str
    url: str
    sha256: str | None
    size: int | None = None
    unzip: bool = False
    members: tuple[ArchiveMember, ...] = ()

    def __post_init__(self) -> None:
        check_relative_path(self.path)
        _check_sha256(self.sha256)
        if not self.url.startswith(("https://", "http://")):
            raise ValueError(f"{self.url!r} is not an http(s) URL")
        if self.unzip != bool(self.members):
            raise ValueError(f"{self.path}: a zip needs members to extract, and only a zip has them")

    @property
    def verified(self) -> bool:
        return self.sha256 is not None


@dataclass(frozen=True)
class CatalogEntry:
    """A public dataset: where its files come from, how to check them, which source reads it."""

    name: str
    layout: Layout
    files: tuple[RemoteFile, ...]
    licence: str
    citation: str
    homepage: str
    description: str
    archive_root: str = ""  # folder inside the entry's zip archives that holds the members

    def __post_init__(self) -> None:
        check_dataset_name(self.name)
        if self.layout not in LAYOUTS:
            raise ValueError(f"{self.name}: layout {self.layout!r} is not one of {LAYOUTS}")
        if self.archive_root:
            check_relative_path(self.archive_root)
        paths = [path for path, _ in self.final_files()] + [f.path for f in self.files if f.unzip]
        if len(paths) != len(set(paths)):
            raise ValueError(f"{self.name}: two files share a path")

    @property
    def verified(self) -> bool:
        """Whether every download has a known sha256."""
        return all(f.verified for f in self.files)

    def unverified_files(self) -> tuple[RemoteFile, ...]:
        return tuple(f for f in self.files if not f.verified)

    def final_files(self) -> tuple[tuple[str, str | None], ...]:
        """(path, sha256 or None) of every file a complete dataset folder holds."""
        out: list[tuple[str, str | None]] = []
        for remote in self.files:
            if remote.unzip:
                out.extend((m.path, m.sha256) for m in remote.members)
            else:
                out.append((remote.path, remote.sha256))
        return tuple(out)


def github_raw(owner: str, repo: str, commit: str, path: str) -> str:
    """A raw.githubusercontent.com URL pinned to a commit id (a branch name is refused)."""
    if not _COMMIT.fullmatch(commit):
        raise ValueError(f"{commit!r} is not a commit id; pin catalog URLs to commits, never branches")
    return f"https://raw.githubusercontent.com/{owner}/{repo}/{commit}/{check_relative_path(path)}"


# -- CIKGRec (AAAI 2025) ---------------------------------------------------------------------------
CIKGREC_REPO = ("laowangzi", "CIKGRec")
CIKGREC_COMMIT = "4cd310f"  # abbreviated: the full id could not be looked up
CIKGREC_FILES = ("train.txt", "test.txt", "kg_final.txt", "relation_list.txt", "entity_list.txt",
                 "item_list.txt", "user_list.txt", "user_interest_clustered.txt")
CIKGREC_CITATION = (
    "Zheng Hu, Zhe Li, Ziyun Jiao, Satoshi Nakagawa, Jiawen Deng, Shimin Cai, Tao Zhou, Fuji Ren. "
    "Bridging the User-side Knowledge Gap in Knowledge-aware Recommendations with Large Language "
    "Models. AAAI 2025. arXiv:2412.13544."
)
CIKGREC_LICENCE = "none stated (CIKGRec repository; upstream challenge data states none we could find)"

DBBOOK2014_SHA256 = {  # path: (sha256, size), computed from the shipped copy
    "train.txt": ("b0f05abb83ae5d0191dc150e345b9e6e2b0b312804fc30a267865f89b96432da", 258639),
    "test.txt": ("367246e3d57d14eb75b8a785c84bbb6b483052bf4ba093063777ddaa8faa93ca", 96437),
    "kg_final.txt": ("66d939630bf4ccd634fde0107ec9a139daac00d1216c06d25e1b36517b2d2881", 1685744),
    "relation_list.txt": ("05f1ec2fa07a232b442184ef2473dc5c356d536ecf04d3bd021f195fdc198cf3", 575),
    "entity_list.txt": ("f637cdb5b49d75cab0aa977c3d6d2ac8b0e81a730f731ef12b0a168e99778ccf", 475228),
    "item_list.txt": ("93971e659178ba7bbd5fb67dc83965dec8e64159da60a71e0d42c30721b34005", 152510),
    "user_list.txt": ("525de87ab9ae769a241772ab84b9ada824b097b7ac3c6ad1d8519cda359d2b1e", 53807),
    "user_interest_clustered.txt": ("3c15572f9b0ab503b08f53adba1280d42832111cd815675cab0744fc1ebffa2b", 68197),
}


def _cikgrec_entry(name: str, description: str,
                   known: Mapping[str, tuple[str, int]] | None = None) -> CatalogEntry:
    owner, repo = CIKGREC_REPO
    known = known or {}
    files = tuple(
        RemoteFile(path, github_raw(owner, repo, CIKGREC_COMMIT, f"data/{name}/{path}"),
                   *known.get(path, (None, None)))
        for path in CIKGREC_FILES
    )
    return CatalogEntry(
        name=name, layout="cikg", files=files, licence=CIKGREC_LICENCE,
        citation=CIKGREC_CITATION, homepage="https://github.com/laowangzi/CIKGRec", description=description,
    )


# -- KGAT (KDD 2019) -------------------------------------------------------------------------------
KGAT_REPO = ("xiangwang1223", "knowledge_graph_attention_network")
KGAT_COMMIT = "8a287ef59f1c90f82591569c650632023c12f363"
KGAT_FILES = ("train.txt", "test.txt", "entity_list.txt", "item_list.txt", "relation_list.txt", "user_list.txt")
KGAT_CITATION = (
    "Xiang Wang, Xiangnan He, Yixin Cao, Meng Liu, Tat-Seng Chua. KGAT: Knowledge Graph Attention "
    "Network for Recommendation. KDD 2019, 950-958."
)
KGAT_LICENCE = "research use, cite KGAT; no redistribution, de-anonymisation or commercial use"


def _kgat_entry(name: str, description: str) -> CatalogEntry:
    owner, repo = KGAT_REPO

    def url(path: str) -> str:
        return github_raw(owner, repo, KGAT_COMMIT, f"Data/{name}/{path}")

    files = tuple(RemoteFile(path, url(path), None) for path in KGAT_FILES) + (
        RemoteFile("kg_final.txt.zip", url("kg_final.txt.zip"), None, unzip=True,
                   members=(ArchiveMember("kg_final.txt"),)),
    )
    return CatalogEntry(
        name=name, layout="kgat", files=files, licence=KGAT_LICENCE, citation=KGAT_CITATION,
        homepage="https://github.com/xiangwang1223/knowledge_graph_attention_network", description=description,
    )


# -- GroupLens MovieLens ---------------------------------------------------------------------------
MOVIELENS_BASE = "https://files.grouplens.org/datasets/movielens"
MOVIELENS_CITATION = (
    "F. Maxwell Harper and Joseph A. Konstan. The MovieLens Datasets: History and Context. "
    "ACM Transactions on Interactive Intelligent Systems 5(4):19, 2015."
)
MOVIELENS_LICENCE = "GroupLens: research use, cite Harper & Konstan 2015; no redistribution or commercial use"


def _movielens_entry(name: str, sha256: str, size: int, members: tuple[ArchiveMember, ...],
                     description: str) -> CatalogEntry:
    archive = RemoteFile(f"{name}.zip", f"{MOVIELENS_BASE}/{name}.zip", sha256, size, unzip=True, members=members)
    return CatalogEntry(
        name=name, layout="movielens", files=(archive,), licence=MOVIELENS_LICENCE, citation=MOVIELENS_CITATION,
        homepage=f"https://grouplens.org/datasets/movielens/{name.removeprefix('ml-').lower()}/",
        description=description, archive_root=name,
    )


ML100K_MEMBERS = (
    ArchiveMember("README", "4883b8cf340ed0059971b33f56ad3adc88a40792108ebca3d24aafc4c82e8b52", 6750),
    ArchiveMember("u.data", "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490", 1979173),
    ArchiveMember("u.item", "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701", 236344),
    ArchiveMember("u.user", "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c", 22628),
    ArchiveMember("u.genre"),
    ArchiveMember("u.info"),
    ArchiveMember("u.occupation"),
)
ML1M_MEMBERS = (
    ArchiveMember("README"),
    ArchiveMember("movies.dat", "0140fc2356357c1a851d0f52e893a1e4d3696df632c4141cea8d5bc3d621f0b9", 171308),
    ArchiveMember("ratings.dat", "506d64ca44484487c11dc2d9a28de5c54948213e6b96285e298afe28d6ea4e0f", 24594131),
    ArchiveMember("users.dat", "1dc3a95300cb19f7c10e027daf29b8cdf1d908dab65b5edfb45950aa389a10a3", 134368),
)


def _build() -> Mapping[str, CatalogEntry]:
    entries = (
        _cikgrec_entry("dbbook2014", "DBbook (ESWC 2014 LOD-enabled RecSys challenge) in the CIKGRec layout: "
                       "5,576 users, 2,680 books, 65,961 interactions, DBpedia KG (13 relations, 134,223 "
                       "triples), LLM-inferred clustered user interests. Ships with kgrec (kgrec/shipped/datasets).",
                       DBBOOK2014_SHA256),
        _cikgrec_entry("book-crossing", "Book-Crossing in the CIKGRec layout (interactions, item KG, "
                       "LLM-inferred clustered user interests)."),
        _cikgrec_entry("ml1m", "MovieLens 1M in the CIKGRec layout (implicit interactions, item KG, "
                       "LLM-inferred clustered user interests)."),
        _kgat_entry("amazon-book", "Amazon-book as processed for KGAT: 70,679 users, 24,915 items, 847,733 "
                    "interactions; Freebase KG with 88,572 entities, 39 relations, 2,557,746 triples."),
        _kgat_entry("last-fm", "Last-FM as processed for KGAT: 23,566 users, 48,123 items, 3,034,796 "
                    "interactions; Freebase KG with 58,266 entities, 9 relations, 464,567 triples."),
        _kgat_entry("yelp2018", "Yelp2018 as processed for KGAT: 45,919 users, 45,538 items, 1,185,068 "
                    "interactions; KG with 90,961 entities, 42 relations, 1,853,704 triples."),
        _movielens_entry("ml-100k", "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229", 4924029,
                         ML100K_MEMBERS, "GroupLens MovieLens 100K: 100,000 ratings (1-5, with timestamps) "
                         "from 943 users on 1,682 movies, with user and movie attributes."),
        _movielens_entry("ml-1m", "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20", 5917549,
                         ML1M_MEMBERS, "GroupLens MovieLens 1M: 1,000,209 ratings (1-5, with timestamps) "
                         "from 6,040 users on 3,706 movies, with user and movie attributes."),
    )
    insecure = [f.url for entry in entries for f in entry.files if not f.url.startswith("https://")]
    if insecure:
        raise ValueError(f"catalog URLs must be https: {insecure}")
    return MappingProxyType({entry.name: entry for entry in entries})


CATALOG: Mapping[str, CatalogEntry] = _build()


def catalog_names() -> list[str]:
    return list(CATALOG)


def find_entry(name: str) -> CatalogEntry | None:
    """The catalog entry called ``name``, or None."""
    return CATALOG.get(name)


def get_entry(name: str) -> CatalogEntry:
    """The catalog entry called ``name``; an unknown name is an error that lists the known ones."""
    entry = CATALOG.get(name)
    if entry is None:
        raise DatasetNotFoundError(
            f"No dataset {name!r} in the catalog; known datasets: {', '.join(CATALOG)}."
        )
    return entry
