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
    pub fn validate(&self) -> Result<(), String> {
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
                    return Err(format!("node {i} points outside the tree"));
                }
                if *feature as usize >= self.n_features {
                    return Err(format!(
                        "node {i} splits on feature {feature}, but the model has {} inputs",
                        self.n_features
                    ));
                }
                if let Split::Category { start, len, .. } = split
                    && (*start + *len) as usize > self.bits.len()
                {
                    return Err(format!("node {i} has a category set outside the model"));
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
                    return Err(format!(
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
        out.par_chunks_mut(BLOCK)
            .enumerate()
            .for_each(|(b, chunk)| self.predict_block(columns, b * BLOCK, chunk));
        out
    }

    fn predict_block(&self, columns: &[Vec<f64>], start: usize, out: &mut [f64]) {
        let nf = self.n_features;
        let n = out.len();
        let mut x = vec![0.0f64; n * nf];
        for (j, col) in columns.iter().enumerate().take(nf) {
            for r in 0..n {
                let v = col[start + r];
                x[r * nf + j] = if self.f32_inputs { v as f32 as f64 } else { v };
            }
        }
        let mut sums = vec![[0.0f64; 2]; n];
        for (t, &root) in self.roots.iter().enumerate() {
            let w = self.tree_weights.get(t).copied().unwrap_or(1.0);
            for (r, sum) in sums.iter_mut().enumerate() {
                let leaf = self.leaf(root, &x[r * nf..(r + 1) * nf]);
                sum[0] += w * leaf[0];
                sum[1] += w * leaf[1];
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

    #[inline]
    fn leaf(&self, root: u32, x: &[f64]) -> [f64; 2] {
        let mut i = root as usize;
        loop {
            match self.nodes[i] {
                Node::Leaf { value } => return value,
                Node::Split {
                    feature,
                    split,
                    true_child,
                    false_child,
                } => {
                    let v = x[feature as usize];
                    let go_true = match split {
                        Split::Numeric {
                            cmp,
                            threshold,
                            missing,
                        } => numeric(v, cmp, threshold, missing),
                        Split::Category {
                            start,
                            len,
                            nan_true,
                        } => {
                            if v.is_nan() {
                                nan_true
                            } else {
                                category(v, &self.bits[start as usize..(start + len) as usize])
                            }
                        }
                    };
                    i = if go_true { true_child } else { false_child } as usize;
                }
            }
        }
    }
}

const LGB_ZERO: f64 = 1e-35;

#[inline]
fn numeric(v: f64, cmp: Cmp, t: f64, missing: Missing) -> bool {
    let compare = |v: f64| match cmp {
        Cmp::Lt => v < t,
        Cmp::Le => v <= t,
        Cmp::Gt => v > t,
        Cmp::Ge => v >= t,
        Cmp::Eq => v == t,
        Cmp::Neq => v != t,
    };
    match missing {
        Missing::Track(to_true) => compare(v) || (to_true && v.is_nan()),
        Missing::LgbNone => compare(if v.is_nan() { 0.0 } else { v }),
        Missing::LgbZero { default_true } => {
            let v = if v.is_nan() { 0.0 } else { v };
            if (-LGB_ZERO..=LGB_ZERO).contains(&v) {
                default_true
            } else {
                compare(v)
            }
        }
        Missing::LgbNan { default_true } => {
            if v.is_nan() {
                default_true
            } else {
                compare(v)
            }
        }
    }
}

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
        assert!(f.validate().unwrap_err().contains("not a tree"));
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
        assert!(f.validate().unwrap_err().contains("feature 3"));
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
