//! Sorting floats fast: an order-preserving map from f64 to u64 and an LSD
//! radix sort on the keys. The metrics sort every score once per model and
//! the profiles sort every numeric column once, so this is the hot path on
//! 10M-row holdouts (radix sort is several times faster than a comparison
//! sort there).

/// Maps an f64 to a u64 whose unsigned order is the float's total order;
/// -0.0 and 0.0 map to the same key.
pub fn order_key(x: f64) -> u64 {
    let x = if x == 0.0 { 0.0 } else { x };
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// The inverse of [`order_key`].
pub fn from_order_key(k: u64) -> f64 {
    let bits = if k >> 63 == 1 { k & !(1 << 63) } else { !k };
    f64::from_bits(bits)
}

/// Sorts ascending: eight passes of 8-bit digits, skipping digits that every
/// key shares. Small inputs use the standard sort.
pub fn radix_sort(keys: &mut Vec<u64>) {
    let n = keys.len();
    if n < 1024 {
        keys.sort_unstable();
        return;
    }
    let mut counts = vec![[0usize; 256]; 8];
    for &k in keys.iter() {
        for (d, c) in counts.iter_mut().enumerate() {
            c[((k >> (8 * d)) & 0xff) as usize] += 1;
        }
    }
    let mut buf = vec![0u64; n];
    let mut in_buf = false;
    for (d, c) in counts.iter().enumerate() {
        if c.contains(&n) {
            continue;
        }
        let mut offsets = [0usize; 256];
        let mut total = 0;
        for (o, count) in offsets.iter_mut().zip(c) {
            *o = total;
            total += count;
        }
        let (src, dst) = if in_buf {
            (&buf, &mut *keys)
        } else {
            (&*keys, &mut buf)
        };
        for &k in src.iter() {
            let b = ((k >> (8 * d)) & 0xff) as usize;
            dst[offsets[b]] = k;
            offsets[b] += 1;
        }
        in_buf = !in_buf;
    }
    if in_buf {
        keys.copy_from_slice(&buf);
    }
}

/// Sorts floats ascending in total order (no NaN expected).
pub fn sort_f64(values: &mut [f64]) {
    let mut keys: Vec<u64> = values.iter().map(|x| order_key(*x)).collect();
    radix_sort(&mut keys);
    for (v, k) in values.iter_mut().zip(keys) {
        *v = from_order_key(k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_key_round_trips_and_orders() {
        let xs = [-1e300, -2.5, -0.0, 0.0, 1e-300, 0.5, 1.0, 7e200];
        for w in xs.windows(2) {
            assert!(order_key(w[0]) <= order_key(w[1]), "{} vs {}", w[0], w[1]);
        }
        for x in xs {
            assert_eq!(from_order_key(order_key(x)), if x == 0.0 { 0.0 } else { x });
        }
    }

    #[test]
    fn radix_sort_matches_std_sort() {
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut keys: Vec<u64> = (0..50_000)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                if i % 3 == 0 { state & 0xffff } else { state }
            })
            .collect();
        let mut want = keys.clone();
        want.sort_unstable();
        radix_sort(&mut keys);
        assert_eq!(keys, want);
    }

    #[test]
    fn sort_f64_orders_negative_and_positive() {
        let mut v: Vec<f64> = (0..3000)
            .map(|i| ((i * 7919) % 3000) as f64 - 1500.5)
            .collect();
        let mut want = v.clone();
        want.sort_by(f64::total_cmp);
        sort_f64(&mut v);
        assert_eq!(v, want);
    }
}
