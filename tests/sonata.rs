//! SONATA spike files: layout, round trips, robustness to interruption, and reading files
//! written by other tools.

use std::path::{Path, PathBuf};

use burstccn::recording::sonata::{SonataReader, SonataWriter, Sorting, SPIKE_CHUNK};
use burstccn::Error;
use hdf5::types::{IntSize, TypeDescriptor, VarLenUnicode};
use hdf5::H5Type;

/// Deterministic spike trains: `n` spikes in non-decreasing time order (ms) on `nodes` nodes.
fn spikes(n: usize, nodes: u64, seed: u64) -> (Vec<f64>, Vec<u64>) {
    let mut state = seed;
    let mut t = 0.0;
    let mut ts = Vec::with_capacity(n);
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        // xorshift64: enough variety to catch misplaced chunks.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        t += (state % 1000) as f64 * 1e-3;
        ts.push(t);
        ids.push(state % nodes);
    }
    (ts, ids)
}

/// Writes the populations in appends of `piece` spikes, interleaving populations as a
/// simulation does.
fn write_interleaved(writer: &mut SonataWriter, data: &[(Vec<f64>, Vec<u64>)], piece: usize) {
    let longest = data.iter().map(|d| d.0.len()).max().unwrap_or(0);
    let mut start = 0;
    while start < longest {
        for (p, (ts, ids)) in data.iter().enumerate() {
            let end = (start + piece).min(ts.len());
            if start < end {
                writer.append(p, &ts[start..end], &ids[start..end]).unwrap();
            }
        }
        start += piece;
    }
}

fn read_chunked(reader: &SonataReader, name: &str, chunk: usize) -> (Vec<f64>, Vec<u64>, usize) {
    let (mut ts, mut ids, mut calls) = (Vec::new(), Vec::new(), 0);
    reader
        .for_each_chunk(name, chunk, |t, n| {
            assert_eq!(t.len(), n.len());
            assert!(t.len() <= chunk);
            ts.extend_from_slice(t);
            ids.extend_from_slice(n);
            calls += 1;
            Ok(())
        })
        .unwrap();
    (ts, ids, calls)
}

#[test]
fn populations_round_trip_across_many_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spikes.h5");
    let names = ["L5_pyr", "PV", "empty", "SST"];
    let data = vec![
        spikes(300_000, 5000, 1),
        spikes(70_001, 800, 2),
        (Vec::new(), Vec::new()),
        spikes(SPIKE_CHUNK, 100, 3),
    ];
    let mut writer = SonataWriter::create(&path, &names).unwrap();
    write_interleaved(&mut writer, &data, 997);
    assert_eq!(writer.len(0), Some(300_000));
    writer.close().unwrap();

    let reader = SonataReader::open(&path).unwrap();
    let mut listed: Vec<&str> = reader
        .populations()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    listed.sort_unstable();
    let mut expected = names.to_vec();
    expected.sort_unstable();
    assert_eq!(listed, expected);
    for (name, (ts, ids)) in names.iter().zip(&data) {
        assert_eq!(reader.len(name).unwrap(), ts.len(), "{name}");
        assert_eq!(reader.sorting(name).unwrap(), Sorting::ByTime, "{name}");
        let (rts, rids) = reader.read_all(name).unwrap();
        assert_eq!(&rts, ts, "{name}");
        assert_eq!(&rids, ids, "{name}");
        // Chunks smaller than the population (and not dividing it) give the same data.
        let (cts, cids, calls) = read_chunked(&reader, name, 9_999);
        assert_eq!((&cts, &cids), (ts, ids), "{name}");
        assert_eq!(calls, ts.len().div_ceil(9_999), "{name}");
    }
}

#[test]
fn layout_matches_sonata_and_libsonata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spikes.h5");
    let mut writer = SonataWriter::create(&path, &["a"]).unwrap();
    writer.append(0, &[0.5, 1.25], &[3, 7]).unwrap();
    writer.close().unwrap();

    let file = hdf5::File::open(&path).unwrap();
    let magic = file.attr("magic").unwrap();
    assert_eq!(
        magic.dtype().unwrap().to_descriptor().unwrap(),
        u32::type_descriptor()
    );
    assert_eq!(magic.read_scalar::<u32>().unwrap(), 0x0A7A);
    let version = file.attr("version").unwrap();
    assert_eq!(
        version.dtype().unwrap().to_descriptor().unwrap(),
        u32::type_descriptor()
    );
    assert_eq!(version.read_raw::<u32>().unwrap(), [0, 1]);

    let group = file.group("spikes/a").unwrap();
    let sorting = group.attr("sorting").unwrap();
    match sorting.dtype().unwrap().to_descriptor().unwrap() {
        TypeDescriptor::Enum(e) => {
            assert_eq!(e.size, IntSize::U1);
            assert!(!e.signed);
            let members: Vec<(&str, u64)> = e
                .members
                .iter()
                .map(|m| (m.name.as_str(), m.value))
                .collect();
            assert_eq!(members, [("none", 0), ("by_id", 1), ("by_time", 2)]);
        }
        other => panic!("sorting should be an enum, is {other}"),
    }
    assert_eq!(sorting.read_scalar::<Sorting>().unwrap(), Sorting::ByTime);

    let ts = group.dataset("timestamps").unwrap();
    assert_eq!(
        ts.dtype().unwrap().to_descriptor().unwrap(),
        f64::type_descriptor()
    );
    assert_eq!(
        ts.attr("units")
            .unwrap()
            .read_scalar::<VarLenUnicode>()
            .unwrap()
            .as_str(),
        "ms"
    );
    let ids = group.dataset("node_ids").unwrap();
    assert_eq!(
        ids.dtype().unwrap().to_descriptor().unwrap(),
        u64::type_descriptor()
    );
    for ds in [&ts, &ids] {
        assert!(ds.is_chunked());
        assert_eq!(ds.space().unwrap().maxdims(), [None]);
    }
    assert_eq!(ts.read_raw::<f64>().unwrap(), [0.5, 1.25]);
    assert_eq!(ids.read_raw::<u64>().unwrap(), [3, 7]);
}

#[test]
fn dropped_writer_leaves_a_complete_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spikes.h5");
    let data = vec![spikes(100_003, 50, 4), spikes(17, 50, 5)];
    {
        let mut writer = SonataWriter::create(&path, &["x", "y"]).unwrap();
        write_interleaved(&mut writer, &data, 4096);
        // No close: the writer goes out of scope as on an error path.
    }
    let reader = SonataReader::open(&path).unwrap();
    assert_eq!(reader.read_all("x").unwrap(), data[0]);
    assert_eq!(reader.read_all("y").unwrap(), data[1]);
}

#[test]
fn flush_makes_data_visible_before_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spikes.h5");
    let mut writer = SonataWriter::create(&path, &["x"]).unwrap();
    writer.append(0, &[1.0, 2.0, 3.0], &[1, 2, 3]).unwrap();
    writer.flush().unwrap();
    let file = hdf5::File::open(&path).unwrap();
    let ids = file
        .dataset("spikes/x/node_ids")
        .unwrap()
        .read_raw::<u64>()
        .unwrap();
    assert_eq!(ids, [1, 2, 3]);
    drop(file);
    writer.close().unwrap();
}

fn parse_message(err: Error) -> (String, String) {
    match err {
        Error::Parse { file, message } => (file, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn reader_rejects_files_that_are_not_spike_files() {
    let dir = tempfile::tempdir().unwrap();

    let missing = dir.path().join("missing.h5");
    match SonataReader::open(&missing) {
        Err(e @ Error::Io { .. }) => assert!(e.is_input_error()),
        other => panic!("expected not found, got {:?}", other.err()),
    }

    let text = dir.path().join("notes.h5");
    std::fs::write(&text, "not hdf5").unwrap();
    let (file, message) = parse_message(SonataReader::open(&text).err().unwrap());
    assert!(file.ends_with("notes.h5"));
    assert!(message.contains("not a readable HDF5 file"), "{message}");

    let plain = dir.path().join("plain.h5");
    hdf5::File::create(&plain)
        .unwrap()
        .create_group("report")
        .unwrap();
    let (file, message) = parse_message(SonataReader::open(&plain).err().unwrap());
    assert!(file.ends_with("plain.h5"));
    assert!(message.contains("/spikes"), "{message}");

    let short = dir.path().join("short.h5");
    {
        let f = hdf5::File::create(&short).unwrap();
        let g = f.create_group("spikes/p").unwrap();
        g.new_dataset_builder()
            .with_data(&[1.0f64, 2.0])
            .create("timestamps")
            .unwrap();
        g.new_dataset_builder()
            .with_data(&[1u64])
            .create("node_ids")
            .unwrap();
    }
    let (_, message) = parse_message(SonataReader::open(&short).err().unwrap());
    assert!(
        message.contains("`p`") && message.contains("2 timestamps but 1 node_ids"),
        "{message}"
    );

    let no_ids = dir.path().join("no_ids.h5");
    {
        let f = hdf5::File::create(&no_ids).unwrap();
        let g = f.create_group("spikes/p").unwrap();
        g.new_dataset_builder()
            .with_data(&[1.0f64])
            .create("timestamps")
            .unwrap();
    }
    let (_, message) = parse_message(SonataReader::open(&no_ids).err().unwrap());
    assert!(message.contains("missing dataset `node_ids`"), "{message}");
}

#[test]
fn unknown_population_lists_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spikes.h5");
    SonataWriter::create(&path, &["E", "I"])
        .unwrap()
        .close()
        .unwrap();
    let reader = SonataReader::open(&path).unwrap();
    let (file, message) = parse_message(reader.len("X").err().unwrap());
    assert!(file.ends_with("spikes.h5"));
    assert!(
        message.contains("`X`") && message.contains("E, I"),
        "{message}"
    );
    assert!(reader.for_each_chunk("X", 10, |_, _| Ok(())).is_err());
}

/// The enum libsonata (HighFive, C++ `char`) writes: signed 8-bit base type.
#[derive(H5Type, Clone, Copy)]
#[repr(i8)]
enum SignedSorting {
    #[hdf5(rename = "none")]
    _None = 0,
    #[hdf5(rename = "by_id")]
    ById = 1,
    #[hdf5(rename = "by_time")]
    _ByTime = 2,
}

fn write_foreign(path: &Path, units: Option<&str>) {
    let f = hdf5::File::create(path).unwrap();
    let g = f.create_group("spikes/ext").unwrap();
    let ts = g
        .new_dataset_builder()
        .with_data(&[0.001f32, 0.0025])
        .create("timestamps")
        .unwrap();
    if let Some(units) = units {
        let value = hdf5::types::FixedAscii::<4>::from_ascii(units).unwrap();
        ts.new_attr::<hdf5::types::FixedAscii<4>>()
            .create("units")
            .unwrap()
            .write_scalar(&value)
            .unwrap();
    }
    g.new_dataset_builder()
        .with_data(&[4i32, 9])
        .create("node_ids")
        .unwrap();
}

#[test]
fn reader_accepts_files_of_other_tools() {
    let dir = tempfile::tempdir().unwrap();

    // Seconds as fixed-length ASCII, float32 times, int32 ids, no sorting attribute.
    let seconds = dir.path().join("seconds.h5");
    write_foreign(&seconds, Some("s"));
    let reader = SonataReader::open(&seconds).unwrap();
    assert_eq!(reader.sorting("ext").unwrap(), Sorting::None);
    let (ts, ids) = reader.read_all("ext").unwrap();
    assert!(
        (ts[0] - 1.0).abs() < 1e-4 && (ts[1] - 2.5).abs() < 1e-4,
        "{ts:?}"
    );
    assert_eq!(ids, [4, 9]);
    drop(reader);
    // Older BMTK files give the order as a string.
    {
        let f = hdf5::File::open_rw(&seconds).unwrap();
        let value: VarLenUnicode = "time".parse().unwrap();
        f.group("spikes/ext")
            .unwrap()
            .new_attr::<VarLenUnicode>()
            .create("sorting")
            .unwrap()
            .write_scalar(&value)
            .unwrap();
    }
    let reader = SonataReader::open(&seconds).unwrap();
    assert_eq!(reader.sorting("ext").unwrap(), Sorting::ByTime);

    // No units: milliseconds; sorting as a signed enum, as libsonata writes it.
    let bare = dir.path().join("bare.h5");
    write_foreign(&bare, None);
    {
        let f = hdf5::File::open_rw(&bare).unwrap();
        f.group("spikes/ext")
            .unwrap()
            .new_attr::<SignedSorting>()
            .create("sorting")
            .unwrap()
            .write_scalar(&SignedSorting::ById)
            .unwrap();
    }
    let reader = SonataReader::open(&bare).unwrap();
    assert_eq!(reader.sorting("ext").unwrap(), Sorting::ById);
    assert!((reader.read_all("ext").unwrap().0[1] - 0.0025).abs() < 1e-9);

    // Units nobody can interpret are an error naming them.
    let weird = dir.path().join("weird.h5");
    write_foreign(&weird, Some("tick"));
    let (_, message) = parse_message(SonataReader::open(&weird).err().unwrap());
    assert!(message.contains("\"tick\""), "{message}");
}

#[test]
fn callback_errors_stop_the_iteration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spikes.h5");
    let (ts, ids) = spikes(1000, 10, 6);
    let mut writer = SonataWriter::create(&path, &["p"]).unwrap();
    writer.append(0, &ts, &ids).unwrap();
    writer.close().unwrap();
    let reader = SonataReader::open(&path).unwrap();
    let mut calls = 0;
    let result = reader.for_each_chunk("p", 100, |_, _| {
        calls += 1;
        if calls == 3 {
            Err(Error::hdf5("callback", "stop"))
        } else {
            Ok(())
        }
    });
    assert!(result.is_err());
    assert_eq!(calls, 3);
}

/// Writes a sample spike file for `.ci/check_sonata.sh` (run with `--ignored`): two populations
/// in time order, one of them spanning several chunks. The path is `$SONATA_SAMPLE` or
/// `target/sonata_sample.h5`.
#[test]
#[ignore = "writes a file for the external libsonata check"]
fn write_sample_for_libsonata_check() {
    let path = std::env::var_os("SONATA_SAMPLE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/sonata_sample.h5")
        });
    let data = vec![
        spikes(200_000, 1000, 7),
        spikes(5_000, 200, 8),
        (Vec::new(), Vec::new()),
    ];
    let mut writer = SonataWriter::create(&path, &["excitatory", "inhibitory", "silent"]).unwrap();
    write_interleaved(&mut writer, &data, 1500);
    writer.close().unwrap();
    println!("wrote {}", path.display());
}
