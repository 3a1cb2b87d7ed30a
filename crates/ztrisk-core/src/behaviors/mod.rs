//! Behaviors: the catalog of predefined detectors, their settings, an account's configuration
//! and the validated updates that `PUT /behaviors` applies to it.

mod catalog;
mod config;
pub mod controls;
mod settings;
mod update;

pub use catalog::Predefined;
pub use config::{AccountBehaviors, BehaviorConfig, CUSTOM_DESCRIPTION};
pub use controls::{ControlValue, Controls};
pub use settings::{SettingKey, SettingSpec, Settings};
pub use update::{BehaviorUpdate, EntryUpdate};
