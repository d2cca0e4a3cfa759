// The encoders whose vectors the dataset's User nodes hold under one name (one, unless a run was cut).
MATCH (n:User {dataset: $dataset})
WHERE n[$encoder_property] IS NOT NULL
RETURN n[$encoder_property] AS encoder, count(*) AS nodes
ORDER BY nodes DESC
