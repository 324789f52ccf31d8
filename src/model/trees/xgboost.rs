//! XGBoost models saved by `Booster.save_model("*.json")` or `("*.ubj")`:
//! `gbtree` and `dart` boosters with one output. A split sends `x < t` to
//! the left child and a missing value to its `default_left` side, in `f32`;
//! the margin starts at the objective's link of `base_score`.

use serde_json::Value;

use super::{Cmp, Forest, Missing, Node, Output, Split, Transform};
use crate::model::error::{FormatError, malformed, unsupported};

/// Builds a forest from the model document (JSON or UBJ, already parsed).
pub fn load(doc: &Value) -> Result<Forest, FormatError> {
    let learner = &doc["learner"];
    if !learner.is_object() {
        return Err("not an XGBoost model: no `learner` object (save it with Booster.save_model(\"model.json\"))".into());
    }
    let param = &learner["learner_model_param"];
    let n_features =
        number(&param["num_feature"]).ok_or("learner_model_param.num_feature is missing")? as usize;
    let num_class = number(&param["num_class"]).unwrap_or(0.0);
    let num_target = number(&param["num_target"]).unwrap_or(1.0);
    if num_class > 1.0 || num_target > 1.0 {
        return Err(malformed!(
            "a model with {num_class} classes and {num_target} targets; modelgate scores binary models (one output)"
        ));
    }
    let base_score =
        number(&param["base_score"]).ok_or("learner_model_param.base_score is missing")?;
    let objective = learner["objective"]["name"].as_str().unwrap_or("");
    let (base, transform) = match objective {
        "binary:logistic" | "reg:logistic" => {
            if !(base_score > 0.0 && base_score < 1.0) {
                return Err(malformed!("base_score {base_score} is not a probability"));
            }
            (
                (base_score / (1.0 - base_score)).ln(),
                Transform::Sigmoid { scale: 1.0 },
            )
        }
        "binary:logitraw"
        | "reg:squarederror"
        | "reg:linear"
        | "reg:pseudohubererror"
        | "reg:absoluteerror" => (base_score, Transform::Identity),
        other => {
            return Err(unsupported!(
                "objective `{other}` is not supported; modelgate scores binary:logistic, binary:logitraw, reg:logistic and squared-error models"
            ));
        }
    };
    let booster = &learner["gradient_booster"];
    let (model, weights) = match booster["name"].as_str() {
        Some("gbtree") => (&booster["model"], Vec::new()),
        Some("dart") => {
            let w: Vec<f64> = booster["weight_drop"]
                .as_array()
                .map(|a| a.iter().filter_map(number).collect())
                .unwrap_or_default();
            (&booster["gbtree"]["model"], w)
        }
        Some(other) => {
            return Err(malformed!(
                "booster `{other}` is not a tree booster; modelgate scores gbtree and dart"
            ));
        }
        None => return Err("learner.gradient_booster.name is missing".into()),
    };
    let trees = model["trees"]
        .as_array()
        .ok_or("gradient_booster.model.trees is missing")?;
    let mut forest = Forest {
        nodes: Vec::new(),
        roots: Vec::new(),
        tree_weights: weights,
        bits: Vec::new(),
        n_features,
        feature_names: learner["feature_names"]
            .as_array()
            .filter(|a| !a.is_empty())
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().unwrap_or("").to_string())
                    .collect()
            }),
        f32_inputs: true,
        output: Output::Single {
            base,
            average: false,
            transform,
        },
        kind: format!("XGBoost {objective}, {} trees", trees.len()),
    };
    let recode = category_values(&model["cats"])?;
    for (t, tree) in trees.iter().enumerate() {
        add_tree(&mut forest, tree, &recode).map_err(|e| e.context(format!("tree {t}")))?;
    }
    if !forest.tree_weights.is_empty() && forest.tree_weights.len() != forest.roots.len() {
        return Err("dart weight_drop does not have one weight per tree".into());
    }
    forest.validate()?;
    Ok(forest)
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        // XGBoost writes parameters as strings, `base_score` as "[4.4E-1]" since 3.0.
        Value::String(s) => s
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(',')
            .next()?
            .trim()
            .parse()
            .ok(),
        Value::Array(a) if a.len() == 1 => number(&a[0]),
        _ => None,
    }
}

fn ints(tree: &Value, key: &str) -> Result<Vec<i64>, FormatError> {
    tree[key]
        .as_array()
        .ok_or_else(|| format!("`{key}` is missing"))?
        .iter()
        .map(|v| {
            v.as_i64()
                .ok_or_else(|| malformed!("`{key}` holds a non-integer"))
        })
        .collect()
}

fn floats(tree: &Value, key: &str) -> Result<Vec<f64>, FormatError> {
    tree[key]
        .as_array()
        .ok_or_else(|| format!("`{key}` is missing"))?
        .iter()
        .map(|v| {
            v.as_f64()
                .ok_or_else(|| malformed!("`{key}` holds a non-number"))
        })
        .collect()
}

/// Per feature, the category value behind each code, when XGBoost recorded
/// an encoding (`cats.enc`, since 3.1): splits store codes, the holdout holds
/// values. Only integer values can be matched; text categories are refused.
fn category_values(cats: &Value) -> Result<Vec<Option<Vec<i64>>>, FormatError> {
    let Some(enc) = cats["enc"].as_array() else {
        return Ok(Vec::new());
    };
    enc.iter()
        .enumerate()
        .map(|(f, e)| match e["values"].as_array() {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => v
                .iter()
                .map(|x| {
                    x.as_i64().filter(|c| *c >= 0).ok_or_else(|| {
                        unsupported!("categorical feature {f} has category `{x}`; modelgate reads non-negative integer categories, so encode text categories as integers before training")
                    })
                })
                .collect::<Result<Vec<i64>, FormatError>>()
                .map(Some),
        })
        .collect()
}

fn add_tree(
    forest: &mut Forest,
    tree: &Value,
    recode: &[Option<Vec<i64>>],
) -> Result<(), FormatError> {
    let left = ints(tree, "left_children")?;
    let right = ints(tree, "right_children")?;
    let cond = floats(tree, "split_conditions")?;
    let index = ints(tree, "split_indices")?;
    let default_left = ints(tree, "default_left")?;
    let n = left.len();
    if [right.len(), cond.len(), index.len(), default_left.len()]
        .iter()
        .any(|&l| l != n)
        || n == 0
    {
        return Err("node arrays have different lengths".into());
    }
    // Categorical splits: the listed categories go right, others (and
    // negative values) left, NaN to the default side.
    let split_type = ints(tree, "split_type").unwrap_or_else(|_| vec![0; n]);
    let cat_nodes = ints(tree, "categories_nodes").unwrap_or_default();
    let cat_segments = ints(tree, "categories_segments").unwrap_or_default();
    let cat_sizes = ints(tree, "categories_sizes").unwrap_or_default();
    let categories = ints(tree, "categories").unwrap_or_default();
    if split_type.len() != n
        || cat_segments.len() != cat_nodes.len()
        || cat_sizes.len() != cat_nodes.len()
    {
        return Err("categorical split arrays have different lengths".into());
    }
    let offset = forest.nodes.len() as u32;
    let child = |c: i64| -> Result<u32, FormatError> {
        u32::try_from(c)
            .ok()
            .filter(|c| (*c as usize) < n)
            .map(|c| c + offset)
            .ok_or_else(|| malformed!("child {c} out of range"))
    };
    for i in 0..n {
        if left[i] == -1 {
            forest.nodes.push(Node::Leaf {
                value: [cond[i], 0.0],
            });
        } else if split_type[i] == 1 {
            let k = cat_nodes
                .iter()
                .position(|c| *c == i as i64)
                .ok_or_else(|| format!("categorical node {i} has no category set"))?;
            let (start, size) = (cat_segments[k], cat_sizes[k]);
            let set = usize::try_from(start)
                .ok()
                .zip(usize::try_from(size).ok())
                .and_then(|(s, l)| categories.get(s..s.checked_add(l)?))
                .ok_or_else(|| format!("categorical node {i} points outside `categories`"))?;
            let set: Vec<i64> = match recode.get(index[i] as usize).and_then(Option::as_ref) {
                None => set.to_vec(),
                Some(values) => set
                    .iter()
                    .map(|c| {
                        usize::try_from(*c)
                            .ok()
                            .and_then(|c| values.get(c))
                            .copied()
                    })
                    .collect::<Option<Vec<i64>>>()
                    .ok_or_else(|| format!("categorical node {i} uses a code without a value"))?,
            };
            let max = set.iter().copied().max().unwrap_or(0);
            if set.iter().any(|c| *c < 0) || max > 1 << 24 {
                return Err(malformed!(
                    "categorical node {i} has categories outside 0..2^24"
                ));
            }
            let words = (max as usize) / 32 + 1;
            let bits_start = forest.bits.len();
            forest.bits.resize(bits_start + words, 0);
            for c in &set {
                forest.bits[bits_start + (*c as usize) / 32] |= 1 << (c % 32);
            }
            forest.nodes.push(Node::Split {
                feature: u32::try_from(index[i])
                    .map_err(|_| "negative feature index".to_string())?,
                split: Split::Category {
                    start: bits_start as u32,
                    len: words as u32,
                    nan_true: default_left[i] == 0,
                },
                // In the set: right. Not in it, or negative: left.
                true_child: child(right[i])?,
                false_child: child(left[i])?,
            });
        } else {
            forest.nodes.push(Node::Split {
                feature: u32::try_from(index[i])
                    .map_err(|_| "negative feature index".to_string())?,
                split: Split::Numeric {
                    cmp: Cmp::Lt,
                    threshold: cond[i] as f32 as f64,
                    missing: Missing::Track(default_left[i] != 0),
                },
                true_child: child(left[i])?,
                false_child: child(right[i])?,
            });
        }
    }
    forest.roots.push(offset);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_score_parses_in_every_spelling() {
        assert_eq!(number(&Value::from("[4.4E-1]")), Some(0.44));
        assert_eq!(number(&Value::from("5E-1")), Some(0.5));
        assert_eq!(number(&serde_json::json!(0.25)), Some(0.25));
    }

    #[test]
    fn unsupported_models_say_why() {
        let doc = serde_json::json!({"learner": {"learner_model_param": {"num_feature": "2", "num_class": "3", "base_score": "5E-1"}}});
        assert!(load(&doc).unwrap_err().to_string().contains("3 classes"));
        let doc = serde_json::json!({"x": 1});
        assert!(
            load(&doc)
                .unwrap_err()
                .to_string()
                .contains("not an XGBoost model")
        );
    }
}
