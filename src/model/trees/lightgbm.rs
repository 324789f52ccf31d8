//! LightGBM text models (`Booster.save_model("model.txt")`). A split sends
//! `x <= t` left, in `f64`; `decision_type` bit 0 marks a categorical split
//! (a bitset of categories that go left), bit 1 the default-left side, and
//! bits 2-3 the missing type (None: NaN is 0; Zero: 0 and NaN take the
//! default side; NaN: NaN takes it). Leaves already include shrinkage.

use super::{Cmp, Forest, Missing, Node, Output, Split, Transform};
use crate::model::error::{FormatError, malformed, unsupported};

pub fn load(text: &str) -> Result<Forest, FormatError> {
    let mut header = Vec::new();
    let mut trees: Vec<Vec<(&str, &str)>> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("Tree=") {
            trees.push(Vec::new());
            continue;
        }
        if line == "end of trees" {
            break;
        }
        if let Some((k, v)) = line.split_once('=') {
            match trees.last_mut() {
                Some(t) => t.push((k, v)),
                None => header.push((k, v)),
            }
        }
    }
    let get = |k: &str| header.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    if get("version").is_none() || get("objective").is_none() && trees.is_empty() {
        return Err(
            "not a LightGBM text model (save it with Booster.save_model(\"model.txt\"))".into(),
        );
    }
    let num_class: u32 = get("num_class")
        .unwrap_or("1")
        .parse()
        .map_err(|_| "bad num_class")?;
    let per_iter: u32 = get("num_tree_per_iteration")
        .unwrap_or("1")
        .parse()
        .map_err(|_| "bad num_tree_per_iteration")?;
    if num_class != 1 || per_iter != 1 {
        return Err(malformed!(
            "a model with {num_class} classes; modelgate scores binary models (one output)"
        ));
    }
    let max_feature: usize = get("max_feature_idx")
        .ok_or("max_feature_idx is missing")?
        .parse()
        .map_err(|_| "bad max_feature_idx")?;
    let objective = get("objective").unwrap_or("regression");
    let mut words = objective.split_whitespace();
    let transform = match words.next() {
        Some("binary") | Some("cross_entropy") | Some("xentropy") => {
            let scale = words
                .find_map(|w| w.strip_prefix("sigmoid:"))
                .map_or(Ok(1.0), str::parse)
                .map_err(|_| "bad sigmoid parameter")?;
            Transform::Sigmoid { scale }
        }
        Some("regression") | Some("regression_l2") | Some("regression_l1") | Some("huber") => {
            Transform::Identity
        }
        Some(other) => {
            return Err(unsupported!(
                "objective `{other}` is not supported; modelgate scores binary, cross_entropy and regression models"
            ));
        }
        None => Transform::Identity,
    };
    let average = header.iter().any(|(k, _)| *k == "average_output")
        || text.lines().any(|l| l.trim() == "average_output");
    let mut forest = Forest {
        nodes: Vec::new(),
        roots: Vec::new(),
        tree_weights: Vec::new(),
        bits: Vec::new(),
        n_features: max_feature + 1,
        feature_names: get("feature_names")
            .map(|f| f.split_whitespace().map(str::to_string).collect()),
        f32_inputs: false,
        output: Output::Single {
            base: 0.0,
            average,
            transform,
        },
        kind: format!("LightGBM {objective}, {} trees", trees.len()),
    };
    for (t, fields) in trees.iter().enumerate() {
        add_tree(&mut forest, fields).map_err(|e| e.context(format!("Tree={t}")))?;
    }
    if forest.roots.is_empty() {
        return Err("the model has no trees".into());
    }
    forest.validate()?;
    Ok(forest)
}

fn field<'a>(fields: &[(&'a str, &'a str)], key: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

fn list<T: std::str::FromStr>(fields: &[(&str, &str)], key: &str) -> Result<Vec<T>, FormatError> {
    match field(fields, key) {
        None => Err(malformed!("`{key}` is missing")),
        Some(v) => v
            .split_whitespace()
            .map(|x| x.parse().map_err(|_| malformed!("`{key}` holds `{x}`")))
            .collect(),
    }
}

fn add_tree(forest: &mut Forest, fields: &[(&str, &str)]) -> Result<(), FormatError> {
    let leaves: usize = field(fields, "num_leaves")
        .ok_or("num_leaves is missing")?
        .parse()
        .map_err(|_| "bad num_leaves")?;
    let leaf_value: Vec<f64> = list(fields, "leaf_value")?;
    if leaf_value.len() != leaves || leaves == 0 {
        return Err(malformed!(
            "{leaves} leaves but {} leaf values",
            leaf_value.len()
        ));
    }
    if field(fields, "is_linear").is_some_and(|v| v.trim() != "0") {
        return Err(unsupported!(
            "linear trees (linear_tree=true) are not supported"
        ));
    }
    let offset = forest.nodes.len() as u32;
    if leaves == 1 {
        forest.nodes.push(Node::Leaf {
            value: [leaf_value[0], 0.0],
        });
        forest.roots.push(offset);
        return Ok(());
    }
    let splits = leaves - 1;
    let feature: Vec<u32> = list(fields, "split_feature")?;
    let threshold: Vec<f64> = list(fields, "threshold")?;
    let decision: Vec<u32> = list(fields, "decision_type")?;
    let left: Vec<i64> = list(fields, "left_child")?;
    let right: Vec<i64> = list(fields, "right_child")?;
    if [
        feature.len(),
        threshold.len(),
        decision.len(),
        left.len(),
        right.len(),
    ]
    .iter()
    .any(|&l| l != splits)
    {
        return Err("split arrays do not have num_leaves - 1 entries".into());
    }
    let num_cat: usize = field(fields, "num_cat")
        .unwrap_or("0")
        .parse()
        .map_err(|_| "bad num_cat")?;
    let (boundaries, cat_bits): (Vec<u32>, Vec<u32>) = if num_cat > 0 {
        (
            list(fields, "cat_boundaries")?,
            list(fields, "cat_threshold")?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let bits_offset = forest.bits.len() as u32;
    forest.bits.extend(&cat_bits);
    // Splits first (0..splits), then leaves (splits..): a negative child c is leaf !c.
    // Every index below comes from the file: checked conversions only, so a
    // malformed number is an error, never an overflow.
    let child = |c: i64| -> Result<u32, FormatError> {
        let idx = if c < 0 {
            // A negative child c is leaf !c, stored after the splits.
            usize::try_from(!c).ok().and_then(|l| splits.checked_add(l))
        } else {
            usize::try_from(c).ok()
        };
        idx.filter(|i| *i < splits + leaves)
            .and_then(|i| u32::try_from(i).ok())
            .and_then(|i| offset.checked_add(i))
            .ok_or_else(|| malformed!("child {c} out of range"))
    };
    for i in 0..splits {
        let d = decision[i];
        let default_true = d & 2 != 0;
        let split = if d & 1 != 0 {
            // The threshold of a categorical split is an index into
            // cat_boundaries, written as a float.
            let t = threshold[i];
            let idx =
                (t.is_finite() && t >= 0.0 && t.fract() == 0.0 && t < boundaries.len() as f64)
                    .then_some(t as usize)
                    .filter(|idx| idx + 1 < boundaries.len())
                    .filter(|idx| {
                        boundaries[*idx] <= boundaries[idx + 1]
                            && boundaries[idx + 1] as usize <= cat_bits.len()
                    })
                    .ok_or_else(|| {
                        malformed!(
                            "categorical split {i} (threshold {t}) points outside cat_boundaries"
                        )
                    })?;
            // LightGBM sends NaN right (false) whatever the missing type.
            Split::Category {
                start: bits_offset
                    .checked_add(boundaries[idx])
                    .ok_or_else(|| malformed!("categorical split {i}: too many category words"))?,
                len: boundaries[idx + 1] - boundaries[idx],
                nan_true: false,
            }
        } else {
            Split::Numeric {
                cmp: Cmp::Le,
                threshold: threshold[i],
                missing: match (d >> 2) & 3 {
                    0 => Missing::LgbNone,
                    1 => Missing::LgbZero { default_true },
                    2 => Missing::LgbNan { default_true },
                    m => return Err(malformed!("unknown missing type {m}")),
                },
            }
        };
        forest.nodes.push(Node::Split {
            feature: feature[i],
            split,
            true_child: child(left[i])?,
            false_child: child(right[i])?,
        });
    }
    for v in leaf_value {
        forest.nodes.push(Node::Leaf { value: [v, 0.0] });
    }
    forest.roots.push(offset);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STUMP: &str = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nmax_feature_idx=0\nobjective=binary sigmoid:2\nfeature_names=x\n\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nthreshold=0.5\ndecision_type=10\nleft_child=-1\nright_child=-2\nleaf_value=-1 1\nshrinkage=1\n\nend of trees\n";

    #[test]
    fn stump_scores_with_missing_type_nan_and_sigmoid_scale() {
        let f = load(STUMP).unwrap();
        let p = f.predict(&[vec![0.0, 1.0, f64::NAN]]);
        let s = |x: f64| 1.0 / (1.0 + (-2.0 * x).exp());
        assert!((p[0] - s(-1.0)).abs() < 1e-15);
        assert!((p[1] - s(1.0)).abs() < 1e-15);
        // decision_type 10 = default left (2) + missing NaN (8): NaN goes left.
        assert!((p[2] - s(-1.0)).abs() < 1e-15);
        assert_eq!(f.feature_names, Some(vec!["x".to_string()]));
    }

    #[test]
    fn broken_files_are_errors() {
        assert!(
            load("hello")
                .unwrap_err()
                .to_string()
                .contains("not a LightGBM")
        );
        let bad = STUMP.replace("left_child=-1", "left_child=7");
        assert!(load(&bad).unwrap_err().to_string().contains("out of range"));
        let multi = STUMP.replace("num_class=1", "num_class=3");
        assert!(load(&multi).unwrap_err().to_string().contains("3 classes"));
    }

    /// File-controlled numbers that used to overflow: a categorical split
    /// whose threshold (an index) is 1e+30, negative, NaN or fractional, and
    /// children at the ends of i64.
    #[test]
    fn malformed_numbers_are_errors_not_overflows() {
        let categorical = STUMP
            .replace("threshold=0.5", "threshold=0")
            .replace("num_cat=0", "num_cat=1")
            .replace("decision_type=10", "decision_type=1")
            .replace(
                "leaf_value=-1 1",
                "leaf_value=-1 1\ncat_boundaries=0 1\ncat_threshold=6",
            );
        assert!(
            load(&categorical).is_ok(),
            "the well-formed categorical stump loads"
        );
        for t in ["1e+30", "-1", "nan", "0.5", "1"] {
            let bad = categorical.replace("\nthreshold=0\n", &format!("\nthreshold={t}\n"));
            let e = load(&bad).unwrap_err().to_string();
            assert!(e.contains("points outside cat_boundaries"), "{t}: {e}");
        }
        for c in [i64::MIN, i64::MAX, -3] {
            let bad = STUMP.replace("left_child=-1", &format!("left_child={c}"));
            let e = load(&bad).unwrap_err().to_string();
            assert!(e.contains("out of range"), "{c}: {e}");
        }
    }
}
