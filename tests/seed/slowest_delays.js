// Preloaded by seed_gist.py (node -r): every Math.random() in the gist picks the longest delay it can
// (floor(0.99 * 5) = 4: /delay/.41), so five sequential requests would take 2.05 s, concurrent ones 0.41 s.
Math.random = () => 0.99
