// Forget the CTR split, the profile cuts and every candidate list (they depend on the targets).
MATCH (d:Dataset {name: $dataset})
REMOVE d.ctr_split_seed, d.ctr_split_ratios, d.ctr_profile_share, d.ctr_candidate_lists
WITH d
MATCH (u:User {dataset: $dataset})
REMOVE u.ctr_split, u.ctr_profile_cut, u.ctr_profile_ts
WITH u
OPTIONAL MATCH (u)-[c:CANDIDATE]->(:Item)
DELETE c
