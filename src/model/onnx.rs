//! ONNX models. A graph that is a tree ensemble with simple plumbing
//! around it (Cast, Identity, ArrayFeatureExtractor, ZipMap, a scale by a
//! constant) runs on the native tree engine: tract's `TreeEnsemble*` is
//! about 1000x slower than onnxruntime and rejects XGBoost and
//! HistGradientBoosting exports. Every other graph runs with tract, with a
//! `ZipMap` output cut at its input (tract does not implement ZipMap; the
//! probabilities tensor is what we want anyway).

use std::path::Path;

use tract_onnx::pb::{ModelProto, NodeProto, TensorProto};
use tract_onnx::prelude::*;

use super::trees::{self, Forest};
use crate::model::error::{FormatError, malformed, unsupported};

/// A loaded ONNX model, ready to score.
pub enum OnnxModel {
    Trees(Box<Forest>),
    Graph(Graph),
}

pub struct Graph {
    plan: std::sync::Arc<TypedRunnableModel>,
    /// Which column of the output is P(positive): 1 for [N, 2], 0 for [N] or [N, 1].
    pub n_inputs: usize,
    pub description: String,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Ops that only move or relabel data, allowed around a tree ensemble.
const PLUMBING: &[&str] = &[
    "Cast",
    "Identity",
    "ZipMap",
    "ArrayFeatureExtractor",
    "Mul",
    "Div",
];

impl OnnxModel {
    pub fn describe(&self) -> String {
        match self {
            OnnxModel::Trees(f) => format!("{} (native tree engine)", f.kind),
            OnnxModel::Graph(g) => g.description.clone(),
        }
    }

    /// The width of the single input tensor.
    pub fn n_inputs(&self) -> usize {
        match self {
            OnnxModel::Trees(f) => f.n_features,
            OnnxModel::Graph(g) => g.n_inputs,
        }
    }

    pub fn load(path: &Path) -> Result<OnnxModel, FormatError> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
        let proto = tract_onnx::onnx()
            .proto_model_for_read(&mut bytes.as_slice())
            .map_err(|e| format!("not an ONNX model: {e}"))?;
        let graph = proto.graph.as_ref().ok_or("the ONNX file has no graph")?;
        let initializers: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
        let inputs: Vec<_> = graph
            .input
            .iter()
            .filter(|i| !initializers.contains(&i.name.as_str()))
            .collect();
        if inputs.len() != 1 {
            return Err(malformed!(
                "the model has {} inputs ({}); modelgate feeds one float tensor [rows, features]. Export with a single input, e.g. skl2onnx.to_onnx(model, X[:1].astype(numpy.float32))",
                inputs.len(),
                inputs
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let width = input_width(inputs[0]).ok_or_else(|| {
            format!(
                "the input `{}` is not a 2-D tensor with a fixed number of columns",
                inputs[0].name
            )
        })?;
        let ensembles: Vec<&NodeProto> = graph
            .node
            .iter()
            .filter(|n| n.op_type.starts_with("TreeEnsemble"))
            .collect();
        if ensembles.len() == 1
            && graph.node.iter().all(|n| {
                n.op_type.starts_with("TreeEnsemble") || PLUMBING.contains(&n.op_type.as_str())
            })
        {
            return trees_model(&proto, ensembles[0], width).map(|f| OnnxModel::Trees(Box::new(f)));
        }
        // tract panics on some malformed graphs (an output naming no node).
        crate::contain::contain(|| graph_model(proto, width))
            .map_err(|panic| malformed!("tract cannot read the graph: {panic}"))?
            .map(OnnxModel::Graph)
    }

    /// P(positive) per row; `columns` are the features in input order.
    pub fn predict(&self, columns: &[Vec<f64>]) -> Result<Vec<f64>, FormatError> {
        match self {
            OnnxModel::Trees(f) => Ok(f.predict(columns)),
            OnnxModel::Graph(g) => g.predict(columns),
        }
    }
}

fn input_width(info: &tract_onnx::pb::ValueInfoProto) -> Option<usize> {
    use tract_onnx::pb::tensor_shape_proto::dimension::Value as Dim;
    use tract_onnx::pb::type_proto::Value;
    let Value::TensorType(t) = info.r#type.as_ref()?.value.as_ref()?;
    let dims = &t.shape.as_ref()?.dim;
    if dims.len() != 2 {
        return None;
    }
    match dims[1].value.as_ref()? {
        Dim::DimValue(v) if *v > 0 => Some(*v as usize),
        _ => None,
    }
}

fn scalar(t: &TensorProto) -> Option<f64> {
    if let Some(v) = t.float_data.first() {
        return Some(f64::from(*v));
    }
    if let Some(v) = t.double_data.first() {
        return Some(*v);
    }
    match (t.data_type, t.raw_data.len()) {
        (1, 4) => Some(f64::from(f32::from_le_bytes(
            t.raw_data[..4].try_into().ok()?,
        ))),
        (11, 8) => Some(f64::from_le_bytes(t.raw_data[..8].try_into().ok()?)),
        _ => None,
    }
}

fn ints_of(t: &TensorProto) -> Vec<i64> {
    if !t.int64_data.is_empty() {
        return t.int64_data.clone();
    }
    if !t.int32_data.is_empty() {
        return t.int32_data.iter().map(|v| i64::from(*v)).collect();
    }
    t.raw_data
        .chunks_exact(8)
        .filter_map(|c| c.try_into().ok().map(i64::from_le_bytes))
        .collect()
}

/// A tree ensemble plus plumbing: checks that the plumbing does not change
/// the scores (a scale must be 1), and maps an ArrayFeatureExtractor in
/// front onto the ensemble's feature ids.
fn trees_model(
    proto: &ModelProto,
    ensemble: &NodeProto,
    width: usize,
) -> Result<Forest, FormatError> {
    let graph = proto.graph.as_ref().ok_or("no graph")?;
    let constant = |name: &str| graph.initializer.iter().find(|t| t.name == name);
    let mut feature_map = None;
    for node in &graph.node {
        match node.op_type.as_str() {
            "Mul" | "Div" => {
                let one = node
                    .input
                    .iter()
                    .any(|i| constant(i).and_then(scalar) == Some(1.0));
                if !one {
                    return Err(malformed!(
                        "{} `{}` rescales the scores; modelgate runs tree-ensemble graphs natively only with plain plumbing around the ensemble",
                        node.op_type,
                        node.name
                    ));
                }
            }
            "ArrayFeatureExtractor" => {
                let idx = node
                    .input
                    .get(1)
                    .and_then(|i| constant(i))
                    .map(ints_of)
                    .ok_or("ArrayFeatureExtractor needs constant indices")?;
                let map: Result<Vec<usize>, FormatError> = idx
                    .iter()
                    .map(|i| {
                        usize::try_from(*i)
                            .ok()
                            .filter(|i| *i < width)
                            .ok_or_else(|| {
                                malformed!("ArrayFeatureExtractor index {i} out of range")
                            })
                    })
                    .collect();
                feature_map = Some(map?);
            }
            _ => {}
        }
    }
    trees::onnx_ml::load(ensemble, feature_map.as_deref(), width)
}

/// Any other graph, on tract: ZipMap nodes (and the outputs they feed) are
/// removed, and the probabilities tensor becomes the output.
fn graph_model(mut proto: ModelProto, width: usize) -> Result<Graph, FormatError> {
    let graph = proto.graph.as_mut().ok_or("no graph")?;
    let mut output = None;
    let mut removed = Vec::new();
    graph.node.retain(|n| {
        if n.op_type == "ZipMap" {
            output = n.input.first().cloned();
            removed.extend(n.output.iter().cloned());
            false
        } else {
            true
        }
    });
    graph.output.retain(|o| !removed.contains(&o.name));
    let output = output
        .or_else(|| {
            graph
                .output
                .iter()
                .find(|o| o.name.contains("prob"))
                .map(|o| o.name.clone())
        })
        .or_else(|| graph.output.last().map(|o| o.name.clone()))
        .ok_or("the model has no output")?;
    let ops: Vec<String> = graph.node.iter().map(|n| n.op_type.clone()).collect();
    let err = |e: TractError| {
        let text = format!("{e:#}");
        match ops.iter().find(|op| text.contains(op.as_str())) {
            Some(op) => unsupported!(
                "tract cannot run operator `{op}` ({text}). Export without it: skl2onnx option {{\"zipmap\": False}} drops ZipMap; tree ensembles should be the only non-trivial node"
            ),
            None => unsupported!("tract cannot run the model: {text}"),
        }
    };
    let mut model = tract_onnx::onnx()
        .model_for_proto_model(&proto)
        .map_err(err)?;
    model
        .select_outputs_by_name([output.as_str()])
        .map_err(err)?;
    let batch = model.sym("N");
    model
        .set_input_fact(0, f32::fact([batch.to_dim(), width.to_dim()]).into())
        .map_err(err)?;
    let plan = model
        .into_optimized()
        .map_err(err)?
        .into_runnable()
        .map_err(err)?;
    Ok(Graph {
        plan,
        n_inputs: width,
        description: format!("ONNX graph ({}) on tract", ops.join(", ")),
    })
}

/// Rows per tract run: bounds the input copy for large holdouts.
const CHUNK: usize = 1 << 16;

impl Graph {
    fn predict(&self, columns: &[Vec<f64>]) -> Result<Vec<f64>, FormatError> {
        let rows = columns.first().map_or(0, Vec::len);
        let n = self.n_inputs;
        let mut out = Vec::with_capacity(rows);
        let mut start = 0;
        while start < rows {
            let len = CHUNK.min(rows - start);
            let mut data = Vec::with_capacity(len * n);
            for r in start..start + len {
                data.extend(columns.iter().map(|c| c[r] as f32));
            }
            let input = tract_ndarray::Array2::from_shape_vec((len, n), data)
                .map_err(|e| FormatError::Scoring(e.to_string()))?;
            let result =
                crate::contain::contain(|| self.plan.run(tvec!(Tensor::from(input).into())))
                    .map_err(|panic| FormatError::Scoring(format!("tract failed: {panic}")))?
                    .map_err(|e| FormatError::Scoring(format!("tract failed: {e:#}")))?;
            let t = result[0]
                .cast_to::<f32>()
                .map_err(|e| FormatError::Scoring(format!("{e:#}")))?;
            let view = t
                .to_plain_array_view::<f32>()
                .map_err(|e| FormatError::Scoring(format!("{e:#}")))?;
            let shape = view.shape().to_vec();
            match shape.as_slice() {
                [r, 2] if *r == len => {
                    out.extend(view.rows().into_iter().map(|row| f64::from(row[1])))
                }
                [r, 1] | [r] if *r == len => out.extend(view.iter().map(|v| f64::from(*v))),
                other => {
                    return Err(malformed!(
                        "the output has shape {other:?}; expected [rows, 2] probabilities or [rows] scores"
                    ));
                }
            }
            start += len;
        }
        Ok(out)
    }
}
