//! The native tree-ensemble engine. XGBoost JSON/UBJ, LightGBM text and
//! ONNX-ML `TreeEnsemble*` nodes all load into one flat [`Forest`], which
//! scores blocks of rows on every core.
//!
//! Each front end keeps its library's exact semantics, because a gate must
//! score what production will score: XGBoost and ONNX compare in `f32`
//! (`x < t` and the ONNX node modes), LightGBM in `f64` (`x <= t`, with its
//! missing-type and categorical-bitset rules). The tests hold every front
//! end to 1e-5 of the library's own predictions.

pub mod lightgbm;
pub mod onnx_ml;
pub mod ubjson;
pub mod xgboost;

use crate::model::error::{FormatError, malformed};
use rayon::prelude::*;

/// How a split compares the feature value `x` with its threshold `t`; the
/// node's *true* child is taken when the comparison holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Neq,
}

/// What a missing (NaN) value does at a split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// NaN takes the true child when `true`, else whatever the comparison
    /// says (false, except for `Neq`): XGBoost's default direction and
    /// ONNX's `missing_value_tracks_true`.
    Track(bool),
    /// LightGBM missing type None: NaN counts as 0.
    LgbNone,
    /// LightGBM missing type Zero: NaN and |x| <= 1e-35 go to the default side.
    LgbZero { default_true: bool },
    /// LightGBM missing type NaN: NaN goes to the default side.
    LgbNan { default_true: bool },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Split {
    Numeric {
        cmp: Cmp,
        threshold: f64,
        missing: Missing,
    },
    /// True child when the integer category is in the bitset
    /// `bits[start..start + len]`; negatives go false, NaN to `nan_true`.
    Category {
        start: u32,
        len: u32,
        nan_true: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Node {
    Split {
        feature: u32,
        split: Split,
        true_child: u32,
        false_child: u32,
    },
    /// The leaf's contribution to class 0 and class 1 (or to the one output).
    Leaf { value: [f64; 2] },
}

/// How the summed leaf values become a score.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// `base + Σ`, optionally averaged over trees, then the transform.
    Single {
        base: f64,
        average: bool,
        transform: Transform,
    },
    /// An ONNX-ML binary classifier: onnxruntime's rules for base values,
    /// one-or-two scored classes and the post transform.
    OnnxBinary(onnx_ml::BinaryRule),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transform {
    Identity,
    /// `1 / (1 + exp(-scale * x))`.
    Sigmoid {
        scale: f64,
    },
}

impl Transform {
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Transform::Identity => x,
            Transform::Sigmoid { scale } => crate::model::linear::sigmoid(scale * x),
        }
    }
}

/// A flattened tree ensemble.
#[derive(Debug, Clone)]
pub struct Forest {
    pub nodes: Vec<Node>,
    /// Index of each tree's root in `nodes`.
    pub roots: Vec<u32>,
    /// Per-tree multiplier (XGBoost DART weights); empty means 1.
    pub tree_weights: Vec<f64>,
    /// Category bitsets, 32 categories per word.
    pub bits: Vec<u32>,
    pub n_features: usize,
    /// Input names in feature-index order, when the format records them.
    pub feature_names: Option<Vec<String>>,
    /// Round inputs and thresholds to `f32` before comparing (XGBoost, ONNX).
    pub f32_inputs: bool,
    pub output: Output,
    /// A short description for errors and reports.
    pub kind: String,
}

/// Rows scored together: the block is transposed into a small row-major
/// buffer that stays in L1/L2 while every tree walks it.
const BLOCK: usize = 512;

impl Forest {
    /// Checks the node graph (children, features and category sets in
    /// range, each tree really a tree), so scoring can index without checks
    /// failing and never loops.
    pub fn validate(&self) -> Result<(), FormatError> {
        let n = self.nodes.len() as u32;
        for (i, node) in self.nodes.iter().enumerate() {
            if let Node::Split {
                feature,
                split,
                true_child,
                false_child,
            } = node
            {
                if *true_child >= n || *false_child >= n {
                    return Err(malformed!("node {i} points outside the tree"));
                }
                if *feature as usize >= self.n_features {
                    return Err(malformed!(
                        "node {i} splits on feature {feature}, but the model has {} inputs",
                        self.n_features
                    ));
                }
                if let Split::Category { start, len, .. } = split
                    && (*start + *len) as usize > self.bits.len()
                {
                    return Err(malformed!("node {i} has a category set outside the model"));
                }
            }
        }
        if self.roots.iter().any(|r| *r >= n) {
            return Err("a tree root points outside the model".into());
        }
        // In a forest every node is reached by exactly one path: more visits
        // than nodes means shared subtrees or a cycle, either way not a tree.
        let mut visits = 0usize;
        for (t, &root) in self.roots.iter().enumerate() {
            let mut stack = vec![root];
            while let Some(i) = stack.pop() {
                visits += 1;
                if visits > self.nodes.len() {
                    return Err(malformed!(
                        "tree {t} is not a tree (a node is reached twice, or a cycle)"
                    ));
                }
                if let Node::Split {
                    true_child,
                    false_child,
                    ..
                } = self.nodes[i as usize]
                {
                    stack.push(true_child);
                    stack.push(false_child);
                }
            }
        }
        Ok(())
    }

    /// Scores rows given as one column per feature (NaN = missing).
    pub fn predict(&self, columns: &[Vec<f64>]) -> Vec<f64> {
        let rows = columns.first().map_or(0, Vec::len);
        let mut out = vec![0.0; rows];
        let flat = self.flatten();
        let fast = Fast::new(self, &flat);
        out.par_chunks_mut(BLOCK)
            .enumerate()
            .for_each(|(b, chunk)| {
                self.predict_block(&flat, fast.as_ref(), columns, b * BLOCK, chunk)
            });
        out
    }

    /// The scoring form: fixed-size records, children as a pair indexed by
    /// the split's outcome, leaf values apart.
    fn flatten(&self) -> Flat {
        let mut nodes = Vec::with_capacity(self.nodes.len());
        let mut leaves = Vec::new();
        for node in &self.nodes {
            nodes.push(match *node {
                Node::Leaf { value } => {
                    leaves.push(value);
                    FlatNode {
                        threshold: 0.0,
                        feature: 0,
                        aux: 0,
                        next: [(leaves.len() - 1) as u32, 0],
                        kind: K_LEAF,
                        cmp: 0,
                        default_true: false,
                    }
                }
                Node::Split {
                    feature,
                    split,
                    true_child,
                    false_child,
                } => {
                    let (kind, cmp, threshold, default_true, aux) = match split {
                        Split::Numeric {
                            cmp,
                            threshold,
                            missing,
                        } => {
                            let (kind, d) = match missing {
                                Missing::Track(d) => (K_TRACK, d),
                                Missing::LgbNone => (K_LGB_NONE, false),
                                Missing::LgbZero { default_true } => (K_LGB_ZERO, default_true),
                                Missing::LgbNan { default_true } => (K_LGB_NAN, default_true),
                            };
                            (kind, cmp as u8, threshold, d, 0)
                        }
                        Split::Category {
                            start,
                            len,
                            nan_true,
                        } => (K_CATEGORY, 0, f64::from(len), nan_true, start),
                    };
                    FlatNode {
                        threshold,
                        feature,
                        aux,
                        next: [false_child, true_child],
                        kind,
                        cmp,
                        default_true,
                    }
                }
            });
        }
        Flat { nodes, leaves }
    }

    fn predict_block(
        &self,
        flat: &Flat,
        fast: Option<&Fast>,
        columns: &[Vec<f64>],
        start: usize,
        out: &mut [f64],
    ) {
        let nf = self.n_features.max(1);
        let n = out.len();
        let mut x = vec![0.0f64; n * nf];
        for (j, col) in columns.iter().enumerate().take(nf) {
            for r in 0..n {
                let v = col[start + r];
                x[r * nf + j] = if self.f32_inputs { v as f32 as f64 } else { v };
            }
        }
        let mut sums = vec![[0.0f64; 2]; n];
        match fast {
            Some(f) if f.le => f.accumulate::<true>(self, &x, nf, &mut sums),
            Some(f) => f.accumulate::<false>(self, &x, nf, &mut sums),
            None => {
                for (t, &root) in self.roots.iter().enumerate() {
                    let w = self.tree_weights.get(t).copied().unwrap_or(1.0);
                    for (r, sum) in sums.iter_mut().enumerate() {
                        let row = &x[r * nf..(r + 1) * nf];
                        let mut i = root as usize;
                        loop {
                            let node = &flat.nodes[i];
                            if node.kind == K_LEAF {
                                break;
                            }
                            i = node.next
                                [usize::from(self.go_true(node, row[node.feature as usize]))]
                                as usize;
                        }
                        let leaf = flat.leaves[flat.nodes[i].next[0] as usize];
                        sum[0] += w * leaf[0];
                        sum[1] += w * leaf[1];
                    }
                }
            }
        }
        let trees = self.roots.len().max(1) as f64;
        for (o, s) in out.iter_mut().zip(&sums) {
            *o = match &self.output {
                Output::Single {
                    base,
                    average,
                    transform,
                } => {
                    let total = if *average { s[0] / trees } else { s[0] };
                    transform.apply(base + total)
                }
                Output::OnnxBinary(rule) => rule.positive(s[0], s[1]),
            };
        }
    }

    #[inline(always)]
    fn go_true(&self, node: &FlatNode, v: f64) -> bool {
        let t = node.threshold;
        let compare = |v: f64| match node.cmp {
            CMP_LT => v < t,
            CMP_LE => v <= t,
            CMP_GT => v > t,
            CMP_GE => v >= t,
            CMP_EQ => v == t,
            _ => v != t,
        };
        match node.kind {
            K_TRACK => compare(v) || (node.default_true && v.is_nan()),
            K_LGB_NONE => compare(if v.is_nan() { 0.0 } else { v }),
            K_LGB_ZERO => {
                let v = if v.is_nan() { 0.0 } else { v };
                if (-LGB_ZERO..=LGB_ZERO).contains(&v) {
                    node.default_true
                } else {
                    compare(v)
                }
            }
            K_LGB_NAN => {
                if v.is_nan() {
                    node.default_true
                } else {
                    compare(v)
                }
            }
            _ => {
                if v.is_nan() {
                    node.default_true
                } else {
                    let start = node.aux as usize;
                    category(v, &self.bits[start..start + t as usize])
                }
            }
        }
    }
}

/// Rows that walk a tree in lockstep on the fast path.
const LANES: usize = 8;

/// The fast path, for forests whose splits are all `x < t` (or all
/// `x <= t`) with a default side for missing values: XGBoost, most ONNX
/// exports, and LightGBM without zero-as-missing or categories. Leaves
/// point at themselves, so every row takes exactly the tree's depth in
/// steps, with no data-dependent branch: eight rows walk each tree together
/// and their loads overlap.
struct Fast {
    nodes: Vec<FastNode>,
    /// Leaf values by node index (zero for splits).
    values: Vec<[f64; 2]>,
    depth: Vec<u32>,
    le: bool,
}

#[derive(Debug, Clone, Copy)]
struct FastNode {
    threshold: f64,
    feature: u32,
    default_true: bool,
    next: [u32; 2],
}

impl Fast {
    fn new(forest: &Forest, flat: &Flat) -> Option<Fast> {
        let mut cmp = None;
        let mut nodes = Vec::with_capacity(flat.nodes.len());
        let mut values = Vec::with_capacity(flat.nodes.len());
        for (i, n) in flat.nodes.iter().enumerate() {
            match n.kind {
                K_LEAF => {
                    nodes.push(FastNode {
                        threshold: f64::NAN,
                        feature: 0,
                        default_true: false,
                        next: [i as u32, i as u32],
                    });
                    values.push(flat.leaves[n.next[0] as usize]);
                    continue;
                }
                // LightGBM's None: a missing value is 0, so it goes where 0 goes.
                K_LGB_NONE | K_TRACK | K_LGB_NAN => {}
                _ => return None,
            }
            if !matches!(n.cmp, CMP_LT | CMP_LE) || cmp.is_some_and(|c| c != n.cmp) {
                return None;
            }
            cmp = Some(n.cmp);
            let default_true = if n.kind == K_LGB_NONE {
                if n.cmp == CMP_LE {
                    0.0 <= n.threshold
                } else {
                    0.0 < n.threshold
                }
            } else {
                n.default_true
            };
            nodes.push(FastNode {
                threshold: n.threshold,
                feature: n.feature,
                default_true,
                next: n.next,
            });
            values.push([0.0, 0.0]);
        }
        let depth = forest
            .roots
            .iter()
            .map(|&r| {
                // Longest path; `validate` guarantees a tree, so this ends.
                let mut best = 0;
                let mut stack = vec![(r, 0u32)];
                while let Some((i, d)) = stack.pop() {
                    let n = &nodes[i as usize];
                    if n.next[0] == i {
                        best = best.max(d);
                    } else {
                        stack.push((n.next[0], d + 1));
                        stack.push((n.next[1], d + 1));
                    }
                }
                best
            })
            .collect();
        Some(Fast {
            nodes,
            values,
            depth,
            le: cmp == Some(CMP_LE),
        })
    }

    fn accumulate<const LE: bool>(
        &self,
        forest: &Forest,
        x: &[f64],
        nf: usize,
        sums: &mut [[f64; 2]],
    ) {
        let n = sums.len();
        for (t, &root) in forest.roots.iter().enumerate() {
            let w = forest.tree_weights.get(t).copied().unwrap_or(1.0);
            let depth = self.depth[t];
            let mut r = 0;
            while r + LANES <= n {
                let mut idx = [root; LANES];
                for d in 0..depth {
                    for (l, i) in idx.iter_mut().enumerate() {
                        let node = &self.nodes[*i as usize];
                        let v = x[(r + l) * nf + node.feature as usize];
                        let below = if LE {
                            v <= node.threshold
                        } else {
                            v < node.threshold
                        };
                        let go = below | (node.default_true & v.is_nan());
                        *i = node.next[usize::from(go)];
                    }
                    // Deep, lopsided trees (LightGBM): stop once all lanes are at leaves.
                    if d % 4 == 3 && idx.iter().all(|&i| self.nodes[i as usize].next[0] == i) {
                        break;
                    }
                }
                for (l, i) in idx.iter().enumerate() {
                    let v = self.values[*i as usize];
                    sums[r + l][0] += w * v[0];
                    sums[r + l][1] += w * v[1];
                }
                r += LANES;
            }
            for (row, sum) in sums.iter_mut().enumerate().skip(r) {
                let mut i = root;
                for _ in 0..depth {
                    let node = &self.nodes[i as usize];
                    let v = x[row * nf + node.feature as usize];
                    let below = if LE {
                        v <= node.threshold
                    } else {
                        v < node.threshold
                    };
                    i = node.next[usize::from(below | (node.default_true & v.is_nan()))];
                }
                let v = self.values[i as usize];
                sum[0] += w * v[0];
                sum[1] += w * v[1];
            }
        }
    }
}

const K_TRACK: u8 = 0;
const K_LGB_NONE: u8 = 1;
const K_LGB_ZERO: u8 = 2;
const K_LGB_NAN: u8 = 3;
const K_CATEGORY: u8 = 4;
const K_LEAF: u8 = 5;

const CMP_LT: u8 = Cmp::Lt as u8;
const CMP_LE: u8 = Cmp::Le as u8;
const CMP_GT: u8 = Cmp::Gt as u8;
const CMP_GE: u8 = Cmp::Ge as u8;
const CMP_EQ: u8 = Cmp::Eq as u8;

/// One node in scoring form (32 bytes). For a leaf, `next[0]` indexes
/// `leaves`; for a category split, `aux` and `threshold` hold the bitset's
/// start and length.
#[derive(Debug, Clone, Copy)]
struct FlatNode {
    threshold: f64,
    feature: u32,
    aux: u32,
    next: [u32; 2],
    kind: u8,
    cmp: u8,
    default_true: bool,
}

struct Flat {
    nodes: Vec<FlatNode>,
    leaves: Vec<[f64; 2]>,
}

const LGB_ZERO: f64 = 1e-35;

#[inline]
fn category(v: f64, bits: &[u32]) -> bool {
    if v.is_nan() || v < 0.0 {
        return false;
    }
    // LightGBM truncates towards zero (`static_cast<int>`).
    let c = v as i64;
    let word = (c / 32) as usize;
    word < bits.len() && (bits[word] >> (c % 32)) & 1 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stump(cmp: Cmp, missing: Missing) -> Forest {
        Forest {
            nodes: vec![
                Node::Split {
                    feature: 0,
                    split: Split::Numeric {
                        cmp,
                        threshold: 1.0,
                        missing,
                    },
                    true_child: 1,
                    false_child: 2,
                },
                Node::Leaf { value: [10.0, 0.0] },
                Node::Leaf { value: [20.0, 0.0] },
            ],
            roots: vec![0],
            tree_weights: vec![],
            bits: vec![],
            n_features: 1,
            feature_names: None,
            f32_inputs: false,
            output: Output::Single {
                base: 0.0,
                average: false,
                transform: Transform::Identity,
            },
            kind: "test".into(),
        }
    }

    #[test]
    fn comparisons_and_missing_rules() {
        let col = vec![vec![0.5, 1.0, 2.0, f64::NAN, 0.0]];
        let p = stump(Cmp::Lt, Missing::Track(false)).predict(&col);
        assert_eq!(p, vec![10.0, 20.0, 20.0, 20.0, 10.0]);
        let p = stump(Cmp::Le, Missing::Track(true)).predict(&col);
        assert_eq!(p, vec![10.0, 10.0, 20.0, 10.0, 10.0]);
        // NaN != 1 holds, so Neq sends NaN true even without tracking.
        let p = stump(Cmp::Neq, Missing::Track(false)).predict(&col);
        assert_eq!(p[3], 10.0);
        // LightGBM: None treats NaN as 0 (<= 1: true); Zero sends 0 and NaN to the default.
        let p = stump(Cmp::Le, Missing::LgbNone).predict(&col);
        assert_eq!(p[3], 10.0);
        let p = stump(
            Cmp::Le,
            Missing::LgbZero {
                default_true: false,
            },
        )
        .predict(&col);
        assert_eq!((p[3], p[4], p[0]), (20.0, 20.0, 10.0));
        let p = stump(
            Cmp::Le,
            Missing::LgbNan {
                default_true: false,
            },
        )
        .predict(&col);
        assert_eq!((p[3], p[4]), (20.0, 10.0));
    }

    #[test]
    fn categories_use_the_bitset_and_send_nan_and_negatives_false() {
        assert!(category(33.0, &[0, 0b10]));
        assert!(!category(32.0, &[0, 0b10]));
        assert!(!category(64.0, &[0, 0b10]));
        assert!(!category(-1.0, &[u32::MAX]));
        assert!(!category(f64::NAN, &[u32::MAX]));
        assert!(category(1.9, &[0b10]), "truncates like a C cast");
    }

    #[test]
    fn cycles_and_bad_indices_are_rejected() {
        let mut f = stump(Cmp::Lt, Missing::Track(false));
        assert!(f.validate().is_ok());
        f.nodes[0] = Node::Split {
            feature: 0,
            split: Split::Numeric {
                cmp: Cmp::Lt,
                threshold: 0.0,
                missing: Missing::Track(false),
            },
            true_child: 0,
            false_child: 1,
        };
        assert!(f.validate().unwrap_err().to_string().contains("not a tree"));
        f.nodes[0] = Node::Split {
            feature: 3,
            split: Split::Numeric {
                cmp: Cmp::Lt,
                threshold: 0.0,
                missing: Missing::Track(false),
            },
            true_child: 1,
            false_child: 2,
        };
        assert!(f.validate().unwrap_err().to_string().contains("feature 3"));
    }

    /// Random unbalanced forests: the fast path (lockstep, self-looping
    /// leaves) and the generic path agree with a plain walk, NaN included.
    #[test]
    fn fast_and_generic_paths_match_a_plain_walk() {
        let mut rng = crate::demo::Rng::new(11, 0, 0);
        for cmp in [Cmp::Lt, Cmp::Le] {
            let mut nodes = Vec::new();
            let mut roots = Vec::new();
            for _ in 0..20 {
                roots.push(nodes.len() as u32);
                // Grow a random tree breadth-first up to 31 nodes.
                let base = nodes.len();
                let mut queue = vec![(base, 0)];
                nodes.push(Node::Leaf { value: [0.0, 0.0] });
                while let Some((i, depth)) = queue.pop() {
                    if depth < 6 && rng.uniform() < 0.7 {
                        let (t, f) = (nodes.len(), nodes.len() + 1);
                        nodes.push(Node::Leaf {
                            value: [rng.normal(), 0.0],
                        });
                        nodes.push(Node::Leaf {
                            value: [rng.normal(), 0.0],
                        });
                        nodes[i] = Node::Split {
                            feature: (rng.uniform() * 3.0) as u32,
                            split: Split::Numeric {
                                cmp,
                                threshold: rng.normal(),
                                missing: Missing::Track(rng.uniform() < 0.5),
                            },
                            true_child: t as u32,
                            false_child: f as u32,
                        };
                        queue.push((t, depth + 1));
                        queue.push((f, depth + 1));
                    } else {
                        nodes[i] = Node::Leaf {
                            value: [rng.normal(), 0.0],
                        };
                    }
                }
            }
            let mut forest = stump(cmp, Missing::Track(false));
            forest.nodes = nodes;
            forest.roots = roots;
            forest.n_features = 3;
            forest.validate().unwrap();
            let n = 1000;
            let cols: Vec<Vec<f64>> = (0..3)
                .map(|_| {
                    (0..n)
                        .map(|_| {
                            if rng.uniform() < 0.1 {
                                f64::NAN
                            } else {
                                rng.normal()
                            }
                        })
                        .collect()
                })
                .collect();
            let plain = |r: usize| -> f64 {
                forest
                    .roots
                    .iter()
                    .map(|&root| {
                        let mut i = root as usize;
                        loop {
                            match forest.nodes[i] {
                                Node::Leaf { value } => return value[0],
                                Node::Split {
                                    feature,
                                    split:
                                        Split::Numeric {
                                            cmp,
                                            threshold,
                                            missing: Missing::Track(d),
                                        },
                                    true_child,
                                    false_child,
                                } => {
                                    let v = cols[feature as usize][r];
                                    let below = if cmp == Cmp::Lt {
                                        v < threshold
                                    } else {
                                        v <= threshold
                                    };
                                    i = if below || (d && v.is_nan()) {
                                        true_child
                                    } else {
                                        false_child
                                    } as usize;
                                }
                                _ => unreachable!("only numeric tracking splits here"),
                            }
                        }
                    })
                    .sum()
            };
            let fast = forest.predict(&cols);
            assert!(Fast::new(&forest, &forest.flatten()).is_some());
            // An unreachable LightGBM zero-as-missing node forces the generic path.
            let mut generic = forest.clone();
            generic.nodes.push(Node::Split {
                feature: 0,
                split: Split::Numeric {
                    cmp,
                    threshold: 0.0,
                    missing: Missing::LgbZero { default_true: true },
                },
                true_child: 0,
                false_child: 0,
            });
            assert!(Fast::new(&generic, &generic.flatten()).is_none());
            let slow = generic.predict(&cols);
            for r in 0..n {
                let want = plain(r);
                assert!(
                    (fast[r] - want).abs() < 1e-12 && (slow[r] - want).abs() < 1e-12,
                    "row {r}"
                );
            }
        }
    }

    #[test]
    fn blocks_cover_every_row() {
        let n = BLOCK * 3 + 7;
        let col = vec![(0..n).map(|i| (i % 3) as f64).collect::<Vec<_>>()];
        let p = stump(Cmp::Lt, Missing::Track(false)).predict(&col);
        assert_eq!(p.len(), n);
        assert!(
            p.iter()
                .enumerate()
                .all(|(i, v)| *v == if i % 3 < 1 { 10.0 } else { 20.0 })
        );
    }
}
