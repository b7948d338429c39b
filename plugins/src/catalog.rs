//! Finding plugins: the bundled instruments, and the scripts and libraries in the plugin
//! directories a user names. A plugin is referred to by id or by the path of its file.

use crate::bundled::BUNDLED;
use crate::{
    load_library, load_script, About, Instrument, Origin, Params, Plugin, PluginError, Predictor,
};
use std::path::{Path, PathBuf};

/// The plugin files mixspec knows of. Nothing is loaded until asked for, so a broken
/// plugin only affects the commands that use it.
pub struct Catalog {
    sources: Vec<Source>,
}

enum Source {
    Bundled {
        id: &'static str,
        text: &'static str,
    },
    /// A discovered script, which must be named for its id.
    Script(PathBuf),
    Library(PathBuf),
}

/// One plugin file and what loading it gave.
pub struct Entry {
    /// The id a script is named for, or a library's file name.
    pub name: String,
    pub origin: Origin,
    pub plugins: Result<Vec<Plugin>, PluginError>,
}

impl Catalog {
    /// The bundled instruments and the `.rhai` files and native libraries in `dirs`.
    pub fn new(dirs: &[PathBuf]) -> Result<Catalog, PluginError> {
        let mut sources: Vec<Source> = BUNDLED
            .iter()
            .map(|&(id, text)| Source::Bundled { id, text })
            .collect();
        for dir in dirs {
            let io = |source| PluginError::Io {
                path: dir.clone(),
                source,
            };
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(io)?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()
                .map_err(io)?;
            files.sort();
            for path in files {
                match path.extension().and_then(|e| e.to_str()) {
                    Some("rhai") => sources.push(Source::Script(path)),
                    Some(ext) if ext == std::env::consts::DLL_EXTENSION => {
                        sources.push(Source::Library(path))
                    }
                    _ => {}
                }
            }
        }
        Ok(Catalog { sources })
    }

    /// Loads every plugin file, keeping each one's error to itself.
    pub fn load_all(&self, params: &Params) -> Vec<Entry> {
        self.sources
            .iter()
            .map(|s| Entry {
                name: s.name(),
                origin: s.origin(),
                plugins: s.load(params),
            })
            .collect()
    }

    /// The instrument a reference names: the path of a `.rhai` file or a native library,
    /// or an id.
    pub fn instrument(&self, reference: &str, params: &Params) -> Result<Instrument, PluginError> {
        let found = self.resolve(reference, params)?;
        let found = found.into_iter().filter_map(|p| match p {
            Plugin::Instrument(i) => Some(i),
            Plugin::Predictor(_) => None,
        });
        one(reference, "instrument", found.collect(), Instrument::about)
    }

    /// The predictor a reference names, as for [`Catalog::instrument`].
    pub fn predictor(&self, reference: &str, params: &Params) -> Result<Predictor, PluginError> {
        let found = self.resolve(reference, params)?;
        let found = found.into_iter().filter_map(|p| match p {
            Plugin::Predictor(p) => Some(p),
            Plugin::Instrument(_) => None,
        });
        one(reference, "predictor", found.collect(), Predictor::about)
    }

    /// Every plugin a reference can mean, of either kind. `PATH#ID` picks one plugin of a
    /// library that offers several.
    fn resolve(&self, reference: &str, params: &Params) -> Result<Vec<Plugin>, PluginError> {
        if let Some((path, id)) = reference.rsplit_once('#').filter(|(p, _)| is_path(p)) {
            let all = load_path(Path::new(path), params)?;
            let ids: Vec<String> = all.iter().map(|p| p.about().id.clone()).collect();
            let found: Vec<Plugin> = all.into_iter().filter(|p| p.about().id == id).collect();
            if found.is_empty() {
                return Err(PluginError::NotFound {
                    kind: "plugin",
                    id: reference.into(),
                    help: format!("{path} offers {}", ids.join(", ")),
                });
            }
            return Ok(found);
        }
        if is_path(reference) {
            return load_path(Path::new(reference), params);
        }
        let mut found = Vec::new();
        let mut known = Vec::new();
        for source in &self.sources {
            match source.id() {
                Some(id) => {
                    if id == reference {
                        found.extend(source.load(params)?);
                    }
                    known.push(id);
                }
                // A library must be loaded to learn its ids; one that does not load cannot
                // be the plugin asked for, and `plugins list` shows its error.
                None => {
                    for p in source.load(params).unwrap_or_default() {
                        known.push(p.about().id.clone());
                        if p.about().id == reference {
                            found.push(p);
                        }
                    }
                }
            }
        }
        if found.is_empty() {
            known.sort();
            return Err(PluginError::NotFound {
                kind: "plugin",
                id: reference.into(),
                help: format!(
                    "the plugins are {}; or give the path of a .rhai file or a library",
                    known.join(", ")
                ),
            });
        }
        Ok(found)
    }
}

/// The single plugin of the wanted kind among those a reference found.
fn one<T>(
    reference: &str,
    kind: &'static str,
    mut found: Vec<T>,
    about: fn(&T) -> &About,
) -> Result<T, PluginError> {
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(PluginError::NotFound {
            kind,
            id: reference.into(),
            help: format!("`{reference}` is not a {kind}"),
        }),
        _ => Err(PluginError::Ambiguous {
            kind,
            reference: reference.into(),
            candidates: found
                .iter()
                .map(|p| format!("{} ({})", about(p).id, about(p).origin))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Loads the plugins of a file: a `.rhai` script, or else a native library.
pub fn load_path(path: &Path, params: &Params) -> Result<Vec<Plugin>, PluginError> {
    if path.extension().is_some_and(|e| e == "rhai") {
        let text = std::fs::read_to_string(path).map_err(|source| PluginError::Io {
            path: path.into(),
            source,
        })?;
        let name = path.display().to_string();
        let origin = Origin::Script(path.into());
        Ok(vec![load_script(&name, &text, origin, params)?])
    } else {
        load_library(path)
    }
}

impl Source {
    fn origin(&self) -> Origin {
        match self {
            Source::Bundled { .. } => Origin::Bundled,
            Source::Script(p) => Origin::Script(p.clone()),
            Source::Library(p) => Origin::Native(p.clone()),
        }
    }

    /// A script's id, known without running it.
    fn id(&self) -> Option<String> {
        match self {
            Source::Bundled { id, .. } => Some(id.to_string()),
            Source::Script(path) => path.file_stem().map(|s| s.to_string_lossy().into_owned()),
            Source::Library(_) => None,
        }
    }

    fn name(&self) -> String {
        match self {
            Source::Library(path) => path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            _ => self.id().unwrap_or_default(),
        }
    }

    fn load(&self, params: &Params) -> Result<Vec<Plugin>, PluginError> {
        let plugin = match self {
            Source::Library(path) => return load_library(path),
            Source::Bundled { id, text } => {
                load_script(&format!("bundled/{id}.rhai"), text, Origin::Bundled, params)?
            }
            Source::Script(path) => load_path(path, params)?.remove(0),
        };
        let declared = &plugin.about().id;
        if Some(declared) != self.id().as_ref() {
            return Err(PluginError::Declaration {
                file: self.origin().to_string(),
                path: "id".into(),
                message: format!(
                    "the script declares `{declared}`, so its file must be named {declared}.rhai"
                ),
            });
        }
        Ok(vec![plugin])
    }
}

/// A reference is a path when it names a directory or a plugin file type rather than an id.
pub fn is_path(reference: &str) -> bool {
    reference.contains(['/', '\\'])
        || Path::new(reference)
            .extension()
            .is_some_and(|e| e == "rhai" || e == std::env::consts::DLL_EXTENSION)
}
