# Sourced by scripts/demo with $atmo set.
echo "== atmo data (examples/data/post.json)"
printf '  cid     '; "$atmo" data cid examples/data/post.json
printf '  cbor    '; "$atmo" data to-cbor --hex examples/data/post.json | cut -c1-72
printf '  back    '; "$atmo" data to-cbor examples/data/post.json | "$atmo" data to-json - | cut -c1-72
echo "== atmo key inspect"
"$atmo" key inspect did:key:zQ3shZc2QzApp2oymGvQbzP8eKheVshBHbU4ZYjeXqwSKEn6N | sed 's/^/  /'
