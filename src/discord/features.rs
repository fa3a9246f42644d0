//! Feature state the framework carries without knowing it. Each feature puts its own
//! state in when the app is wired (`app::commands`) and its commands read it back by
//! type, so the framework never depends on a feature and a feature's state stays in the
//! feature's module.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use super::errors::CommandError;

/// One value per type.
#[derive(Default)]
pub(crate) struct Features {
    map: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl Features {
    /// Adds (or replaces) the state of type `T`.
    pub(crate) fn with<T: Send + Sync + 'static>(mut self, state: Arc<T>) -> Self {
        self.map.insert(TypeId::of::<T>(), state);
        self
    }

    /// The state of type `T`. A missing one is a wiring bug, reported to the caller as an
    /// internal error (with a trace id), never a panic.
    pub(crate) fn get<T: Send + Sync + 'static>(&self) -> Result<&T, CommandError> {
        self.map
            .get(&TypeId::of::<T>())
            .and_then(|s| s.downcast_ref::<T>())
            .ok_or_else(|| {
                CommandError::Internal(format!(
                    "feature state {} was not registered when the bot was wired",
                    std::any::type_name::<T>()
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_found_by_type_and_a_missing_one_is_an_internal_error() {
        struct Counter(u32);
        let f = Features::default().with(Arc::new(Counter(7)));
        assert_eq!(f.get::<Counter>().map(|c| c.0).ok(), Some(7));
        let missing = f.get::<String>().err().map(|e| e.is_internal());
        assert_eq!(missing, Some(true));
    }
}
