//! What a provider's published "find a user" call found.
//!
//! A create whose outcome is unknown (a timeout, a dropped connection) or that answered "already
//! exists" (409) leaves the caller without the user's id; the vendor's own lookup is how it gets
//! it without creating anyone twice. A lookup is taken as an answer only when it is exact: the
//! user whose key is the one the create sends (Entrust's `userId`), never the nearest of several
//! candidates. So [`Lookup`] says how many users matched, and a provider that publishes no lookup
//! (mID; Nexway, whose search answer's shape is not published) says so instead of guessing.

/// What a provider's lookup of a user found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Exactly one user has the key: its id, as the provider gives it.
    One {
        /// The provider's id of the user (Entrust's `User.id`).
        id: String,
    },
    /// No user has the key (Entrust's 404, or an answer about another user).
    NotFound,
    /// This many users (two or more) have the key: none is taken as the user.
    Several(usize),
    /// The provider publishes no lookup this client could use (mID, Nexway): nothing was sent.
    NotPublished,
}
