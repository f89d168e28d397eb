# Sourced by scripts/demo with $atmo set.
echo "== atmo repo (examples/data/repo.car, exported by the reference PDS; see examples/data/README.md)"
key=$(sed -n 's/.*"signingKey": "\(did:key:[^"]*\)".*/\1/p' examples/data/repo.json)
"$atmo" repo inspect examples/data/repo.car | sed 's/^/  /'
"$atmo" repo verify --key "$key" examples/data/repo.car | sed 's/^/  /'
"$atmo" repo ls examples/data/repo.car --collection app.bsky.feed.post | head -3 | sed 's/^/  /'
