// Whether a user id exists in a dataset (tells "unknown user" from "no recommendations yet").
RETURN EXISTS { MATCH (:User {dataset: $dataset, id: $user}) } AS exists
