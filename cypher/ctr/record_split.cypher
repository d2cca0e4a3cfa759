// Remember how the CTR split was drawn, so later runs reuse it (or refuse other settings).
MATCH (d:Dataset {name: $dataset})
SET d.ctr_split_seed = $seed, d.ctr_split_ratios = $ratios, d.ctr_profile_share = $share
