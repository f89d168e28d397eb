# Sourced by scripts/demo with $atmo set.
echo "== atmo repo (examples/data/repo.car, made by the official @atproto/repo)"
"$atmo" repo inspect examples/data/repo.car | sed 's/^/  /'
"$atmo" repo verify examples/data/repo.car | sed 's/^/  /'
"$atmo" repo ls examples/data/repo.car --collection xyz.statusphere.status | head -3 | sed 's/^/  /'
