//! The names an ONNX file declares for its graph inputs and outputs, read straight from the
//! protobuf (tract names outputs after their nodes, not after the graph's declared tensors).

/// Reads a varint at `*pos`.
fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The length-delimited fields numbered `field` of the message in `buf`; `None` when the bytes
/// are not a protobuf message.
fn fields(buf: &[u8], field: u64) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        match key & 7 {
            0 => {
                varint(buf, &mut pos)?;
            }
            1 => pos = pos.checked_add(8)?,
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).ok()?;
                let end = pos.checked_add(len).filter(|e| *e <= buf.len())?;
                if key >> 3 == field {
                    out.push(&buf[pos..end]);
                }
                pos = end;
            }
            5 => pos = pos.checked_add(4)?,
            _ => return None,
        }
    }
    (pos == buf.len()).then_some(out)
}

/// `(inputs, outputs)` names of the graph of an ONNX `ModelProto`, in declared order.
/// Initialisers that older exporters also list as inputs are left out.
pub(crate) fn graph_io_names(model: &[u8]) -> Option<(Vec<String>, Vec<String>)> {
    // ModelProto.graph = 7; GraphProto.input = 11, output = 12, initializer = 5;
    // ValueInfoProto.name = 1; TensorProto.name = 8.
    let graph = *fields(model, 7)?.first()?;
    let names = |field, name_field| -> Option<Vec<String>> {
        fields(graph, field)?
            .into_iter()
            .map(|v| {
                let name = fields(v, name_field)?;
                Some(String::from_utf8_lossy(name.first()?).into_owned())
            })
            .collect()
    };
    let initialisers = names(5, 8)?;
    let inputs = names(11, 1)?.into_iter().filter(|n| !initialisers.contains(n)).collect();
    Some((inputs, names(12, 1)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_a_model() {
        assert!(graph_io_names(b"\xff\xff\xff").is_none());
        assert!(graph_io_names(b"").is_none());
    }

    #[test]
    fn a_hand_built_graph_gives_its_names_in_order() {
        let value_info =
            |name: &str| [vec![0x0a, name.len() as u8], name.as_bytes().to_vec()].concat();
        let field = |n: u8, body: Vec<u8>| [vec![(n << 3) | 2, body.len() as u8], body].concat();
        let graph = [
            field(11, value_info("image")),
            field(12, value_info("boxes")),
            field(12, value_info("scores")),
        ]
        .concat();
        let model = [vec![0x08, 0x07], field(7, graph)].concat();
        let (i, o) = graph_io_names(&model).unwrap();
        assert_eq!(i, ["image"]);
        assert_eq!(o, ["boxes", "scores"]);
    }
}
