//! ONNX-ML `TreeEnsembleClassifier` and `TreeEnsembleRegressor` nodes, with
//! onnxruntime's semantics: every node mode, `missing_value_tracks_true`,
//! `base_values`, and for binary classifiers the rules that decide whether
//! one or two classes carry weights and how the post transform applies.

use std::collections::HashMap;

use tract_onnx::pb::{AttributeProto, NodeProto};

use super::{Cmp, Forest, Missing, Node, Output, Split, Transform};
use crate::model::error::{FormatError, malformed, unsupported};

/// onnxruntime's way of turning the two class sums into P(class 1).
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryRule {
    pub base_values: Vec<f64>,
    /// Whether class 1 receives any weight; when it does not, onnxruntime
    /// scores class 0 and derives class 1 from it.
    pub class1_scored: bool,
    pub weights_all_positive: bool,
    pub transform: PostTransform,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostTransform {
    None,
    Logistic,
    Softmax,
    SoftmaxZero,
}

impl BinaryRule {
    /// P(class 1) from the summed weights of class 0 and class 1.
    pub fn positive(&self, mut s0: f64, mut s1: f64) -> f64 {
        let sigmoid = crate::model::linear::sigmoid;
        match self.base_values.len() {
            2 => {
                s0 += self.base_values[0];
                s1 += self.base_values[1];
            }
            1 => s0 += self.base_values[0],
            _ => {}
        }
        if self.class1_scored || self.base_values.len() == 2 {
            // Two scores: the transform applies to both.
            return match self.transform {
                PostTransform::None => s1,
                PostTransform::Logistic => sigmoid(s1),
                PostTransform::Softmax => sigmoid(s1 - s0),
                PostTransform::SoftmaxZero => {
                    if s0 == 0.0 && s1 == 0.0 {
                        0.0
                    } else {
                        sigmoid(s1 - s0)
                    }
                }
            };
        }
        // One score: class 1 is the score itself when every weight is
        // positive (a probability), else its logistic or the raw score.
        if self.weights_all_positive {
            s0
        } else if self.transform == PostTransform::Logistic {
            sigmoid(s0)
        } else {
            s0
        }
    }
}

fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn ints(node: &NodeProto, name: &str) -> Vec<i64> {
    attr(node, name).map(|a| a.ints.clone()).unwrap_or_default()
}

fn floats(node: &NodeProto, name: &str) -> Result<Vec<f64>, FormatError> {
    match attr(node, name) {
        None => match attr(node, &format!("{name}_as_tensor")) {
            None => Ok(Vec::new()),
            Some(a) => {
                let t =
                    a.t.as_ref()
                        .ok_or(format!("{name}_as_tensor has no tensor"))?;
                if !t.double_data.is_empty() {
                    Ok(t.double_data.clone())
                } else if !t.float_data.is_empty() {
                    Ok(t.float_data.iter().map(|v| f64::from(*v)).collect())
                } else if t.data_type == 11 {
                    Ok(t.raw_data
                        .chunks_exact(8)
                        .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                        .collect())
                } else {
                    Ok(t.raw_data
                        .chunks_exact(4)
                        .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap_or([0; 4]))))
                        .collect())
                }
            }
        },
        Some(a) => Ok(a.floats.iter().map(|v| f64::from(*v)).collect()),
    }
}

fn strings(node: &NodeProto, name: &str) -> Vec<String> {
    attr(node, name)
        .map(|a| {
            a.strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn post_transform(node: &NodeProto) -> Result<PostTransform, FormatError> {
    let t = attr(node, "post_transform").map(|a| String::from_utf8_lossy(&a.s).into_owned());
    match t.as_deref().unwrap_or("NONE") {
        "NONE" => Ok(PostTransform::None),
        "LOGISTIC" => Ok(PostTransform::Logistic),
        "SOFTMAX" => Ok(PostTransform::Softmax),
        "SOFTMAX_ZERO" => Ok(PostTransform::SoftmaxZero),
        other => Err(unsupported!("post_transform {other} is not supported")),
    }
}

/// Builds the forest of a tree-ensemble node. `feature_map` re-indexes
/// features (for an ArrayFeatureExtractor in front); `n_inputs` is the
/// width of the model input.
pub fn load(
    node: &NodeProto,
    feature_map: Option<&[usize]>,
    n_inputs: usize,
) -> Result<Forest, FormatError> {
    let classifier = match node.op_type.as_str() {
        "TreeEnsembleClassifier" => true,
        "TreeEnsembleRegressor" => false,
        other => return Err(malformed!("{other} is not a tree ensemble")),
    };
    let tree_ids = ints(node, "nodes_treeids");
    let node_ids = ints(node, "nodes_nodeids");
    let features = ints(node, "nodes_featureids");
    let values = floats(node, "nodes_values")?;
    let modes = strings(node, "nodes_modes");
    let true_ids = ints(node, "nodes_truenodeids");
    let false_ids = ints(node, "nodes_falsenodeids");
    let tracks = ints(node, "nodes_missing_value_tracks_true");
    let n = tree_ids.len();
    if [
        node_ids.len(),
        features.len(),
        values.len(),
        modes.len(),
        true_ids.len(),
        false_ids.len(),
    ]
    .iter()
    .any(|&l| l != n)
        || n == 0
        || !(tracks.is_empty() || tracks.len() == n)
    {
        return Err("node attributes have different lengths".into());
    }
    let prefix = if classifier { "class" } else { "target" };
    let w_tree = ints(node, &format!("{prefix}_treeids"));
    let w_node = ints(node, &format!("{prefix}_nodeids"));
    let w_id = ints(node, &format!("{prefix}_ids"));
    let w_value = floats(node, &format!("{prefix}_weights"))?;
    if [w_node.len(), w_id.len(), w_value.len()]
        .iter()
        .any(|&l| l != w_tree.len())
    {
        return Err(malformed!("{prefix} attributes have different lengths"));
    }
    if classifier {
        let labels = ints(node, "classlabels_int64s")
            .len()
            .max(strings(node, "classlabels_strings").len());
        if labels != 2 {
            return Err(malformed!(
                "a classifier with {labels} classes; modelgate scores binary classifiers"
            ));
        }
    } else if attr(node, "n_targets").is_some_and(|a| a.i != 1) {
        return Err(unsupported!(
            "a regressor with several targets; modelgate scores one output"
        ));
    }
    if w_id.iter().any(|c| !(0..=1).contains(c)) {
        return Err(malformed!("{prefix}_ids beyond 0 and 1"));
    }

    let index: HashMap<(i64, i64), usize> = tree_ids
        .iter()
        .zip(&node_ids)
        .enumerate()
        .map(|(i, (t, n))| ((*t, *n), i))
        .collect();
    if index.len() != n {
        return Err("duplicate (tree, node) ids".into());
    }
    let mut leaf = vec![[0.0f64; 2]; n];
    for k in 0..w_tree.len() {
        let i = *index
            .get(&(w_tree[k], w_node[k]))
            .ok_or_else(|| format!("weight for unknown node ({}, {})", w_tree[k], w_node[k]))?;
        leaf[i][w_id[k] as usize] += w_value[k];
    }
    let mut is_child = vec![false; n];
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let mode = modes[i].as_str();
        if mode == "LEAF" {
            nodes.push(Node::Leaf { value: leaf[i] });
            continue;
        }
        let cmp = match mode {
            "BRANCH_LEQ" => Cmp::Le,
            "BRANCH_LT" => Cmp::Lt,
            "BRANCH_GTE" => Cmp::Ge,
            "BRANCH_GT" => Cmp::Gt,
            "BRANCH_EQ" => Cmp::Eq,
            "BRANCH_NEQ" => Cmp::Neq,
            other => return Err(unsupported!("node mode {other} is not supported")),
        };
        let child = |id: i64| -> Result<usize, FormatError> {
            index
                .get(&(tree_ids[i], id))
                .copied()
                .ok_or_else(|| malformed!("node ({}, {id}) does not exist", tree_ids[i]))
        };
        let (t, f) = (child(true_ids[i])?, child(false_ids[i])?);
        is_child[t] = true;
        is_child[f] = true;
        let raw = usize::try_from(features[i]).map_err(|_| "negative feature id".to_string())?;
        let feature = match feature_map {
            Some(m) => *m
                .get(raw)
                .ok_or_else(|| format!("feature {raw} beyond the extracted columns"))?,
            None => raw,
        };
        nodes.push(Node::Split {
            feature: feature as u32,
            split: Split::Numeric {
                cmp,
                threshold: values[i] as f32 as f64,
                missing: Missing::Track(tracks.get(i).is_some_and(|t| *t != 0)),
            },
            true_child: t as u32,
            false_child: f as u32,
        });
    }
    // Roots in order of first appearance of each tree.
    let mut roots = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for i in 0..n {
        if !is_child[i] && seen.insert(tree_ids[i]) {
            roots.push(i as u32);
        }
    }
    let trees = tree_ids
        .iter()
        .collect::<std::collections::HashSet<_>>()
        .len();
    if roots.len() != trees {
        return Err("a tree has no single root".into());
    }
    let transform = post_transform(node)?;
    let base_values = floats(node, "base_values")?;
    let output = if classifier {
        Output::OnnxBinary(BinaryRule {
            base_values,
            class1_scored: w_id.contains(&1),
            weights_all_positive: w_value.iter().all(|w| *w >= 0.0),
            transform,
        })
    } else {
        let aggregate =
            attr(node, "aggregate_function").map(|a| String::from_utf8_lossy(&a.s).into_owned());
        let average = match aggregate.as_deref().unwrap_or("SUM") {
            "SUM" => false,
            "AVERAGE" => true,
            other => return Err(unsupported!("aggregate_function {other} is not supported")),
        };
        Output::Single {
            base: base_values.first().copied().unwrap_or(0.0),
            average,
            transform: match transform {
                PostTransform::None => Transform::Identity,
                PostTransform::Logistic => Transform::Sigmoid { scale: 1.0 },
                other => {
                    return Err(unsupported!(
                        "post_transform {other:?} on a regressor is not supported"
                    ));
                }
            },
        }
    };
    let forest = Forest {
        nodes,
        roots,
        tree_weights: Vec::new(),
        bits: Vec::new(),
        n_features: n_inputs,
        feature_names: None,
        f32_inputs: true,
        output,
        kind: format!("ONNX {}, {trees} trees", node.op_type),
    };
    forest.validate()?;
    Ok(forest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_rules_follow_onnxruntime() {
        let rule = |base: Vec<f64>, c1: bool, pos: bool, t| BinaryRule {
            base_values: base,
            class1_scored: c1,
            weights_all_positive: pos,
            transform: t,
        };
        let s = crate::model::linear::sigmoid;
        // Random forest style: both classes, probabilities, no transform.
        assert_eq!(
            rule(vec![], true, true, PostTransform::None).positive(0.3, 0.7),
            0.7
        );
        // Boosting style: one scored class, a margin and LOGISTIC.
        assert_eq!(
            rule(vec![-0.2], false, false, PostTransform::Logistic).positive(1.0, 0.0),
            s(0.8)
        );
        // One scored class of positive weights: the score is already P(1).
        assert_eq!(
            rule(vec![], false, true, PostTransform::Logistic).positive(0.4, 0.0),
            0.4
        );
        assert!(
            (rule(vec![], true, false, PostTransform::Softmax).positive(1.0, 2.0) - s(1.0)).abs()
                < 1e-15
        );
    }
}
