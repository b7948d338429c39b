//! Native plugin libraries, loaded with libloading and called through the SDK's C ABI.
//!
//! A library is checked before anything but its version field is read: the entry symbol
//! must exist and report [`abi::ABI_VERSION`]. Libraries are never unloaded, because the
//! instruments and predictors built from them point into their static data and code.

use crate::batch::BatchFunction;
use crate::testing::{Expected, TOLERANCE};
use crate::{About, Instrument, Origin, Per, Plugin, PluginError, Predictor};
use libloading::Library;
use mixspec_plugin_sdk::abi;
use std::path::{Path, PathBuf};

/// Loads every instrument and predictor of a plugin library.
pub fn load_library(path: &Path) -> Result<Vec<Plugin>, PluginError> {
    // SAFETY: loading runs the library's initialisers. A plugin library is code the user
    // chose to run, like mixspec itself; the checks below keep a non-plugin or a plugin of
    // another ABI from being called into.
    let library = unsafe { Library::new(path) }.map_err(|e| PluginError::Library {
        path: path.into(),
        message: e.to_string(),
    })?;
    let library: &'static Library = Box::leak(Box::new(library));
    let plugin = entry(library, path, abi::ENTRY_SYMBOL)?;
    let bad = |message: String| PluginError::Library {
        path: path.into(),
        message,
    };
    // SAFETY (for the reads below): the version matched, so `plugin` is a v1 `abi::Plugin`
    // whose slices point at static data of the library, which stays loaded.
    let mut plugins = Vec::new();
    for i in unsafe { view(plugin.instruments) }.map_err(bad)? {
        plugins.push(Plugin::Instrument(
            unsafe { instrument(i, plugin, path) }.map_err(bad)?,
        ));
    }
    for p in unsafe { view(plugin.predictors) }.map_err(bad)? {
        plugins.push(Plugin::Predictor(
            unsafe { predictor(p, plugin, path) }.map_err(bad)?,
        ));
    }
    unique_ids(&plugins).map_err(bad)?;
    Ok(plugins)
}

/// Refuses a library offering two plugins of one kind under one id: neither the id nor
/// `PATH#ID` could tell them apart.
fn unique_ids(plugins: &[Plugin]) -> Result<(), String> {
    for (i, p) in plugins.iter().enumerate() {
        let same = |q: &Plugin| q.kind() == p.kind() && q.about().id == p.about().id;
        if let Some(q) = plugins[..i].iter().find(|q| same(q)) {
            let described = |x: &Plugin| {
                let a = x.about();
                format!("version {}, \"{}\"", a.version, a.title)
            };
            return Err(format!(
                "it offers two {}s with the id `{}` ({}; and {}); each needs an id of its own",
                p.kind(),
                p.about().id,
                described(q),
                described(p)
            ));
        }
    }
    Ok(())
}

/// Finds the entry point and checks the ABI version, reading nothing else.
fn entry(
    library: &'static Library,
    path: &Path,
    symbol: &[u8],
) -> Result<&'static abi::Plugin, PluginError> {
    // SAFETY: the symbol is declared with the entry point's signature by the SDK; a library
    // of another ABI still returns a pointer whose first field is the version.
    let entry =
        unsafe { library.get::<abi::Entry>(symbol) }.map_err(|_| PluginError::MissingSymbol {
            path: path.into(),
            symbol: String::from_utf8_lossy(symbol.strip_suffix(b"\0").unwrap_or(symbol)).into(),
        })?;
    let plugin = unsafe { entry() };
    if plugin.is_null() {
        return Err(PluginError::Library {
            path: path.into(),
            message: "its entry point returned nothing".into(),
        });
    }
    // SAFETY: every ABI version starts with the version as a `u32`.
    let found = unsafe { plugin.cast::<u32>().read() };
    if found != abi::ABI_VERSION {
        return Err(PluginError::AbiVersion {
            path: path.into(),
            found,
            expected: abi::ABI_VERSION,
        });
    }
    // SAFETY: the version matches, so this is the layout we know, static in the library.
    Ok(unsafe { &*plugin })
}

/// # Safety
/// `s` must be null-or-valid for `len` values that live as long as the library.
unsafe fn view<T>(s: abi::Slice<T>) -> Result<&'static [T], String> {
    match (s.len, s.ptr.is_null()) {
        (0, _) => Ok(&[]),
        (_, true) => Err("a descriptor has a null pointer".into()),
        // SAFETY: see the function's contract.
        (len, false) => Ok(unsafe { std::slice::from_raw_parts(s.ptr, len) }),
    }
}

/// # Safety
/// As [`view`].
unsafe fn text(s: abi::Str) -> Result<String, String> {
    let bytes = unsafe { view(s) }?;
    std::str::from_utf8(bytes)
        .map(str::to_string)
        .map_err(|_| "a descriptor has text that is not UTF-8".into())
}

/// # Safety
/// As [`view`], for every slice inside.
unsafe fn texts(s: abi::Slice<abi::Str>) -> Result<Vec<String>, String> {
    unsafe { view(s) }?
        .iter()
        .map(|t| unsafe { text(*t) })
        .collect()
}

/// # Safety
/// As [`view`], for every slice inside.
unsafe fn columns(s: abi::Slice<abi::Slice<f64>>) -> Result<Vec<Vec<f64>>, String> {
    unsafe { view(s) }?
        .iter()
        .map(|c| unsafe { view(*c) }.map(<[f64]>::to_vec))
        .collect()
}

/// NaN expects a missing value.
fn expectations(columns: Vec<Vec<f64>>) -> impl Iterator<Item = Vec<Expected>> {
    columns.into_iter().map(|c| {
        c.into_iter()
            .map(|x| {
                if x.is_nan() {
                    Expected::Missing
                } else {
                    Expected::Number(x)
                }
            })
            .collect()
    })
}

/// # Safety
/// As [`view`], for every slice of the descriptor.
unsafe fn instrument(
    i: &'static abi::Instrument,
    plugin: &'static abi::Plugin,
    path: &Path,
) -> Result<Instrument, String> {
    let about = unsafe { about(i.id, i.version, i.title, path) }?;
    let id = about.id.clone();
    let in_it = |m: String| format!("instrument `{id}`: {m}");
    let items = unsafe { texts(i.items) }?;
    let missing_codes = unsafe { view(i.missing_codes) }?.to_vec();
    let mut inst =
        Instrument::new(about, items, (i.range[0], i.range[1]), missing_codes).map_err(in_it)?;
    let outputs = unsafe { texts(i.outputs) }?;
    let function = NativeFunction {
        plugin: id.clone(),
        function: &i.score,
        free_message: plugin.free_message,
    };
    inst.add_computed(&outputs, Box::new(function))
        .map_err(in_it)?;
    for t in unsafe { view(i.tests) }? {
        let expected = outputs
            .iter()
            .cloned()
            .zip(expectations(unsafe { columns(t.expected) }?))
            .collect();
        inst.add_test(unsafe { columns(t.inputs) }?, expected, TOLERANCE)
            .map_err(in_it)?;
    }
    Ok(inst)
}

/// # Safety
/// As [`view`], for every slice of the descriptor.
unsafe fn predictor(
    p: &'static abi::Predictor,
    plugin: &'static abi::Plugin,
    path: &Path,
) -> Result<Predictor, String> {
    let about = unsafe { about(p.id, p.version, p.title, path) }?;
    let id = about.id.clone();
    let in_it = |m: String| format!("predictor `{id}`: {m}");
    let per = if p.per_subject {
        Per::Subject
    } else {
        Per::Row
    };
    let function = NativeFunction {
        plugin: id.clone(),
        function: &p.derive,
        free_message: plugin.free_message,
    };
    let inputs = unsafe { texts(p.inputs) }?;
    let mut predictor = Predictor::new(about, inputs, per, Box::new(function)).map_err(in_it)?;
    for t in unsafe { view(p.tests) }? {
        let Some(expected) = expectations(unsafe { columns(t.expected) }?).next() else {
            return Err(in_it("a test expects no output".into()));
        };
        predictor
            .add_test(unsafe { columns(t.inputs) }?, expected, TOLERANCE)
            .map_err(in_it)?;
    }
    Ok(predictor)
}

/// # Safety
/// As [`view`].
unsafe fn about(
    id: abi::Str,
    version: abi::Str,
    title: abi::Str,
    path: &Path,
) -> Result<About, String> {
    Ok(About {
        id: unsafe { text(id) }?,
        version: unsafe { text(version) }?,
        title: unsafe { text(title) }?,
        origin: Origin::Native(PathBuf::from(path)),
    })
}

/// A plugin function behind the C ABI.
struct NativeFunction {
    plugin: String,
    function: &'static abi::Function,
    free_message: unsafe extern "C" fn(abi::Message),
}

impl BatchFunction for NativeFunction {
    fn call(&self, inputs: &[&[f64]], outputs: usize) -> Result<Vec<Vec<f64>>, PluginError> {
        let rows = inputs.first().map_or(0, |c| c.len());
        let mut columns = vec![vec![f64::NAN; rows]; outputs];
        let input_slices: Vec<abi::Slice<f64>> = inputs
            .iter()
            .map(|c| abi::Slice {
                ptr: c.as_ptr(),
                len: c.len(),
            })
            .collect();
        let output_slices: Vec<abi::SliceMut<f64>> = columns
            .iter_mut()
            .map(|c| abi::SliceMut {
                ptr: c.as_mut_ptr(),
                len: c.len(),
            })
            .collect();
        let batch = abi::Batch {
            rows,
            inputs: abi::Slice {
                ptr: input_slices.as_ptr(),
                len: input_slices.len(),
            },
            outputs: abi::Slice {
                ptr: output_slices.as_ptr(),
                len: output_slices.len(),
            },
        };
        // SAFETY: the batch's slices are valid for the call and the outputs unaliased; the
        // SDK catches panics inside the plugin, so the call returns.
        let message = unsafe { (self.function.call)(self.function.context, &batch) };
        if message.ptr.is_null() {
            return Ok(columns);
        }
        // SAFETY: a non-null message is `len` bytes owned by the plugin until freed.
        let text = String::from_utf8_lossy(unsafe {
            std::slice::from_raw_parts(message.ptr, message.len)
        })
        .into_owned();
        unsafe { (self.free_message)(message) };
        Err(PluginError::Call {
            plugin: self.plugin.clone(),
            message: text,
        })
    }
}

#[cfg(test)]
#[path = "../tests/common/libraries.rs"]
mod libraries;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_library_must_not_offer_one_id_twice() {
        let script = |version: &str| {
            let text = format!(
                "fn derive(x) {{ x }} #{{ kind: \"predictor\", id: \"dup\", version: \"{version}\", \
                 title: \"t\", inputs: [\"x\"], per: \"row\" }}"
            );
            crate::load_script("lib", &text, crate::Origin::Bundled, &Default::default()).unwrap()
        };
        assert_eq!(unique_ids(&[script("1")]), Ok(()));
        let err = unique_ids(&[script("1"), script("2")]).unwrap_err();
        assert!(err.contains("two predictors with the id `dup`"), "{err}");
        assert!(
            err.contains("version 1") && err.contains("version 2"),
            "{err}"
        );
    }

    #[test]
    fn a_library_without_the_entry_point_is_refused() {
        let path = libraries::library(libraries::EXAMPLE);
        // SAFETY: the example library is ours and has no initialisers.
        let library = Box::leak(Box::new(unsafe { Library::new(&path) }.unwrap()));
        let Err(err) = entry(library, &path, b"mixspec_no_such_entry\0") else {
            panic!("found a symbol that does not exist")
        };
        assert!(matches!(err, PluginError::MissingSymbol { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("no `mixspec_no_such_entry` entry point"),
            "{err}"
        );
    }
}
