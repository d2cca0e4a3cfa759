// How this dataset's CTR split was drawn (null before the first draw) and how many users hold one.
MATCH (d:Dataset {name: $dataset})
OPTIONAL MATCH (u:User {dataset: $dataset})
WHERE u.ctr_split IS NOT NULL
RETURN d.ctr_split_seed AS seed, d.ctr_split_ratios AS ratios, d.ctr_profile_share AS profile_share,
       count(u) AS split_users
