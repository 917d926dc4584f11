//! A row's life in `iam import`, as one state machine: [`next`] is every transition, and the
//! importer does what the transition's [`Act`] says (journal, count, list, send, retry).
//!
//! ```text
//!            Journaled(created/exists/refused-same)      -> Created/Exists/Refused  (skip: done before)
//!            Journaled(sending/unknown) + --skip-unknown -> Unknown                 (listed only)
//!            Journaled(sending/unknown)                  -> Unknown -- Sent --> Sending{resend}
//!  New --+-- Journaled(rejected/failed/refused-changed)  -> New (check again)
//!        +-- Invalid -------------------------------------> Rejected
//!        +-- Sent ---> Sending --+-- 2xx ---------------> Created
//!                                +-- 409 ---------------> Exists   (Created if resend: the earlier send made it)
//!                                +-- 400 ---------------> Refused  (final for this content)
//!                                +-- 429/503 -----------> Sending  (the import waits, then sends again)
//!                                +-- timeout, cut off --> Unknown
//!                                +-- 401, 5xx, ... -----> Failed   (nothing created: a re-run sends it)
//!                                +-- Interrupted -------> NotSent, or Unknown if resend
//!  New ------ NotReached (the import stopped first) ------> NotSent (no journal record)
//!  Unknown -- NotReached ---------------------------------> Unknown (still unknown)
//! ```

use iam_clients::NewUser;

use crate::journal::State;

/// A hash of the row's content without its secrets ([`NewUser::without_secrets`]: the password,
/// secret-named attributes, secrets in the vendor sections), to tell whether a refused row
/// changed since: 16 hex digits of FNV-1a (64-bit), stable across runs and versions (a row
/// without vendor sections hashes as before they existed). The vendor sections count: a refused
/// row whose `entrust.externalId` changed is sent again. Not a secret's digest: a secret
/// changing alone does not change it.
pub fn content_hash(user: &NewUser) -> String {
    let text = serde_json::to_string(&user.without_secrets()).expect("a user serializes");
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// Where a row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowState {
    /// Read, not sent by this run.
    New,
    /// Its `sending` record is synced; the request is out (or waiting to go again after a 429).
    /// `resend`: an earlier run sent it and never learnt the outcome.
    Sending { resend: bool },
    /// Created (by this run, or by an earlier one).
    Created,
    /// The provider already had this user, and not because of this import (409 on a first send).
    Exists,
    /// Refused by the provider (400): final for this content; a changed row is sent again.
    Refused,
    /// Does not parse or validate: never sent; checked again by a re-run.
    Rejected,
    /// Not created, provably (401, 403, 5xx, ...): a re-run sends it again.
    Failed,
    /// Sent, outcome unknown (may exist): a re-run sends it again, a 409 then meaning created.
    Unknown,
    /// Not sent by this run: the import stopped (Ctrl-C, credentials refused, the journal)
    /// before it went; a re-run sends it.
    NotSent,
}

impl RowState {
    /// The state the journal records.
    pub fn journal(self) -> State {
        match self {
            RowState::New | RowState::Sending { .. } => State::Sending,
            RowState::Created => State::Created,
            RowState::Exists => State::Exists,
            RowState::Refused => State::Refused,
            RowState::Rejected => State::Rejected,
            // Nothing was created: as `failed`, a re-run sends it again.
            RowState::Failed | RowState::NotSent => State::Failed,
            RowState::Unknown => State::Unknown,
        }
    }
}

/// What the provider answered, as the machine needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 2xx.
    Created,
    /// 409: the user exists.
    Conflict,
    /// 400 and other answers about the row's content.
    Refused,
    /// 429 or 503 (`Disposition::SendAgainAfter`): nothing was created; send again later.
    RateLimited,
    /// No answer after sending (timeout, connection cut).
    Unknown,
    /// Any other refusal, which proves nothing was created.
    Failed,
}

/// What happens to a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The journal's last record of this row's line, from an earlier run (the user key matched);
    /// `same_content`: the row hashes as it did then.
    Journaled { state: State, same_content: bool },
    /// The row does not parse, or the provider's rules refuse it before sending.
    Invalid,
    /// Its `sending` record is synced and the request goes out.
    Sent,
    /// The provider's answer.
    Answer(Answer),
    /// The import stopped (Ctrl-C, credentials refused) while the row waited to be sent.
    Interrupted,
    /// The import stopped before the row was checked or sent.
    NotReached,
}

/// What the importer does on a transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// Check the row (parse, the provider's rules), then send it (`Event::Sent`) or reject it.
    Check,
    /// Nothing to do yet: the request is out.
    Wait,
    /// Wait as the provider asked, then send the same request again (no journal record).
    Retry,
    /// The row is done for this run: count it as `tally`; `record`: append the new state to the
    /// journal (false when an earlier run recorded it).
    Finish { tally: Tally, record: bool },
}

/// The summary's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tally {
    Created,
    /// Created by an earlier run whose outcome was unknown (409 on re-sending it).
    ConfirmedExisting,
    /// Done by an earlier run, per the journal.
    AlreadyDone,
    Exists,
    Refused,
    Rejected,
    Failed,
    Unknown,
    /// Not sent: the import stopped before it (never rejected: the row may be fine).
    NotSent,
}

impl Tally {
    /// Every outcome, in the summary's order.
    pub const ALL: [Tally; 9] = [
        Tally::Created,
        Tally::ConfirmedExisting,
        Tally::AlreadyDone,
        Tally::Exists,
        Tally::Refused,
        Tally::Rejected,
        Tally::Failed,
        Tally::Unknown,
        Tally::NotSent,
    ];

    /// Whether a row that ends so goes to the rejects file (which each run rewrites, listing
    /// the rows not done: those this run decided and those an earlier run did).
    pub fn listed(self) -> bool {
        matches!(
            self,
            Tally::Rejected | Tally::Refused | Tally::Failed | Tally::Unknown
        )
    }

    /// Whether a row that ends so makes the run exit 1 (`existing_fails`: `--existing fail`).
    /// Unknown rows exit 3 before this is asked.
    pub fn fails_run(self, existing_fails: bool) -> bool {
        match self {
            Tally::Refused | Tally::Rejected | Tally::Failed | Tally::NotSent => true,
            Tally::Exists => existing_fails,
            Tally::Created | Tally::ConfirmedExisting | Tally::AlreadyDone | Tally::Unknown => {
                false
            }
        }
    }

    /// Its label in the text summary.
    pub fn label(self) -> &'static str {
        match self {
            Tally::Created => "created",
            Tally::ConfirmedExisting => "confirmed existing",
            Tally::AlreadyDone => "already done",
            Tally::Exists => "exists",
            Tally::Refused => "refused",
            Tally::Rejected => "rejected",
            Tally::Failed => "failed",
            Tally::Unknown => "outcome unknown",
            Tally::NotSent => "not sent",
        }
    }

    /// The summary's word for it (a count in `--output json`, an outcome in the results file).
    pub fn word(self) -> &'static str {
        match self {
            Tally::Created => "created",
            Tally::ConfirmedExisting => "confirmed_existing",
            Tally::AlreadyDone => "already_done",
            Tally::Exists => "exists",
            Tally::Refused => "refused",
            Tally::Rejected => "rejected",
            Tally::Failed => "failed",
            Tally::Unknown => "unknown",
            Tally::NotSent => "not_sent",
        }
    }
}

/// What the journal's last record of a row's line (`state`, its user key `was`) means for the
/// row as read now (key `key`): the event to start from, or the user the line had when the
/// file changed under its journal. `same_hash` says whether the row hashes as the record did;
/// it is asked only for a refused record.
pub fn resume(
    state: State,
    was: &str,
    key: &str,
    same_hash: impl FnOnce() -> bool,
) -> Result<Event, String> {
    // A rejected row was never sent and may have had no key then: it is checked again.
    if state != State::Rejected && was != key {
        return Err(was.to_owned());
    }
    Ok(Event::Journaled {
        state,
        same_content: state != State::Refused || same_hash(),
    })
}

/// Options that change transitions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// `--skip-unknown`: list rows whose outcome is unknown instead of sending them again.
    pub skip_unknown: bool,
}

/// The one transition function. `None`: the event cannot happen in that state (a bug).
pub fn next(state: RowState, event: Event, policy: Policy) -> Option<(RowState, Act)> {
    use Act::{Check, Finish, Retry, Wait};
    use RowState as S;
    let finish = |to: RowState, tally: Tally| {
        Some((
            to,
            Finish {
                tally,
                record: true,
            },
        ))
    };
    let skip = |to: RowState, tally: Tally| {
        Some((
            to,
            Finish {
                tally,
                record: false,
            },
        ))
    };
    match (state, event) {
        (
            S::New,
            Event::Journaled {
                state,
                same_content,
            },
        ) => match state {
            State::Created => skip(S::Created, Tally::AlreadyDone),
            State::Exists => skip(S::Exists, Tally::Exists),
            State::Refused if same_content => skip(S::Refused, Tally::Refused),
            State::Refused | State::Rejected | State::Failed => Some((S::New, Check)),
            State::Sending | State::Unknown if policy.skip_unknown => {
                skip(S::Unknown, Tally::Unknown)
            }
            State::Sending | State::Unknown => Some((S::Unknown, Check)),
        },
        (S::New | S::Unknown, Event::Invalid) => finish(S::Rejected, Tally::Rejected),
        (S::New, Event::Sent) => Some((S::Sending { resend: false }, Wait)),
        (S::Unknown, Event::Sent) => Some((S::Sending { resend: true }, Wait)),
        (S::Sending { resend }, Event::Answer(answer)) => match answer {
            Answer::Created => finish(S::Created, Tally::Created),
            Answer::Conflict if resend => finish(S::Created, Tally::ConfirmedExisting),
            Answer::Conflict => finish(S::Exists, Tally::Exists),
            Answer::Refused => finish(S::Refused, Tally::Refused),
            Answer::RateLimited => Some((state, Retry)),
            Answer::Unknown => finish(S::Unknown, Tally::Unknown),
            Answer::Failed => finish(S::Failed, Tally::Failed),
        },
        // Waiting to be sent again: this attempt created nothing, an earlier one may have.
        (S::Sending { resend: true }, Event::Interrupted) => finish(S::Unknown, Tally::Unknown),
        (S::Sending { resend: false }, Event::Interrupted) => finish(S::NotSent, Tally::NotSent),
        // Never sent by this run: no record, so the journal keeps what it said before.
        (S::New, Event::NotReached) => skip(S::NotSent, Tally::NotSent),
        (S::Unknown, Event::NotReached) => skip(S::Unknown, Tally::Unknown),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_an_earlier_record_means_for_the_row_read_now() {
        // (state, key then, key now, hashes the same) -> event, or the file changed
        let cases = [
            (
                State::Created,
                "ada",
                "ada",
                false,
                Ok(journaled(State::Created, true)),
            ),
            (
                State::Refused,
                "ada",
                "ada",
                true,
                Ok(journaled(State::Refused, true)),
            ),
            (
                State::Refused,
                "ada",
                "ada",
                false,
                Ok(journaled(State::Refused, false)),
            ),
            (
                State::Unknown,
                "ada",
                "ada",
                false,
                Ok(journaled(State::Unknown, true)),
            ),
            (State::Created, "ada", "bob", true, Err("ada".to_owned())),
            (State::Unknown, "ada", "bob", true, Err("ada".to_owned())),
            // Rejected rows were never sent: a changed key is the fix, not a changed file.
            (
                State::Rejected,
                "",
                "bob",
                false,
                Ok(journaled(State::Rejected, true)),
            ),
        ];
        for (i, (state, was, key, same, expected)) in cases.into_iter().enumerate() {
            assert_eq!(resume(state, was, key, || same), expected, "case {i}");
        }
        // The hash is computed only when it matters.
        let asked = std::cell::Cell::new(false);
        let _ = resume(State::Created, "a", "a", || {
            asked.set(true);
            true
        });
        assert!(!asked.get());
    }

    #[test]
    fn which_outcomes_are_listed_and_which_fail_the_run() {
        let listed: Vec<&str> = Tally::ALL
            .into_iter()
            .filter(|t| t.listed())
            .map(Tally::word)
            .collect();
        assert_eq!(listed, ["refused", "rejected", "failed", "unknown"]);
        let failing = |existing_fails| -> Vec<&str> {
            Tally::ALL
                .into_iter()
                .filter(|t| t.fails_run(existing_fails))
                .map(Tally::word)
                .collect()
        };
        assert_eq!(
            failing(false),
            ["refused", "rejected", "failed", "not_sent"]
        );
        assert_eq!(
            failing(true),
            ["exists", "refused", "rejected", "failed", "not_sent"]
        );
    }
    use Act::{Check, Finish, Retry, Wait};
    use RowState as S;

    type Expected = Option<(S, Act)>;

    const SEND: S = S::Sending { resend: false };
    const RESEND: S = S::Sending { resend: true };

    fn done(tally: Tally) -> Act {
        Finish {
            tally,
            record: true,
        }
    }
    fn skip(tally: Tally) -> Act {
        Finish {
            tally,
            record: false,
        }
    }
    fn journaled(state: State, same_content: bool) -> Event {
        Event::Journaled {
            state,
            same_content,
        }
    }

    #[test]
    fn every_transition() {
        let p = Policy::default();
        let skip_unknown = Policy { skip_unknown: true };
        #[rustfmt::skip]
        let table: &[(S, Event, Policy, Expected)] = &[
            // A re-run, per the journal.
            (S::New, journaled(State::Created, true), p, Some((S::Created, skip(Tally::AlreadyDone)))),
            (S::New, journaled(State::Created, false), p, Some((S::Created, skip(Tally::AlreadyDone)))),
            (S::New, journaled(State::Exists, true), p, Some((S::Exists, skip(Tally::Exists)))),
            (S::New, journaled(State::Refused, true), p, Some((S::Refused, skip(Tally::Refused)))),
            (S::New, journaled(State::Refused, false), p, Some((S::New, Check))),
            (S::New, journaled(State::Rejected, true), p, Some((S::New, Check))),
            (S::New, journaled(State::Failed, true), p, Some((S::New, Check))),
            (S::New, journaled(State::Sending, true), p, Some((S::Unknown, Check))),
            (S::New, journaled(State::Unknown, true), p, Some((S::Unknown, Check))),
            (S::New, journaled(State::Sending, true), skip_unknown, Some((S::Unknown, skip(Tally::Unknown)))),
            (S::New, journaled(State::Unknown, false), skip_unknown, Some((S::Unknown, skip(Tally::Unknown)))),
            // Checking.
            (S::New, Event::Invalid, p, Some((S::Rejected, done(Tally::Rejected)))),
            (S::Unknown, Event::Invalid, p, Some((S::Rejected, done(Tally::Rejected)))),
            (S::New, Event::Sent, p, Some((SEND, Wait))),
            (S::Unknown, Event::Sent, p, Some((RESEND, Wait))),
            // Answers to a first send.
            (SEND, Event::Answer(Answer::Created), p, Some((S::Created, done(Tally::Created)))),
            (SEND, Event::Answer(Answer::Conflict), p, Some((S::Exists, done(Tally::Exists)))),
            (SEND, Event::Answer(Answer::Refused), p, Some((S::Refused, done(Tally::Refused)))),
            (SEND, Event::Answer(Answer::RateLimited), p, Some((SEND, Retry))),
            (SEND, Event::Answer(Answer::Unknown), p, Some((S::Unknown, done(Tally::Unknown)))),
            (SEND, Event::Answer(Answer::Failed), p, Some((S::Failed, done(Tally::Failed)))),
            (SEND, Event::Interrupted, p, Some((S::NotSent, done(Tally::NotSent)))),
            // The import stopped before the row was checked.
            (S::New, Event::NotReached, p, Some((S::NotSent, skip(Tally::NotSent)))),
            (S::Unknown, Event::NotReached, p, Some((S::Unknown, skip(Tally::Unknown)))),
            (SEND, Event::NotReached, p, None),
            // Answers to re-sending a row whose outcome was unknown.
            (RESEND, Event::Answer(Answer::Created), p, Some((S::Created, done(Tally::Created)))),
            (RESEND, Event::Answer(Answer::Conflict), p, Some((S::Created, done(Tally::ConfirmedExisting)))),
            (RESEND, Event::Answer(Answer::Refused), p, Some((S::Refused, done(Tally::Refused)))),
            (RESEND, Event::Answer(Answer::RateLimited), p, Some((RESEND, Retry))),
            (RESEND, Event::Answer(Answer::Unknown), p, Some((S::Unknown, done(Tally::Unknown)))),
            (RESEND, Event::Answer(Answer::Failed), p, Some((S::Failed, done(Tally::Failed)))),
            (RESEND, Event::Interrupted, p, Some((S::Unknown, done(Tally::Unknown)))),
            // What cannot happen.
            (S::Created, Event::Sent, p, None),
            (S::Exists, Event::Answer(Answer::Created), p, None),
            (S::New, Event::Answer(Answer::Created), p, None),
            (SEND, Event::Sent, p, None),
            (SEND, journaled(State::Created, true), p, None),
            (S::Refused, Event::Invalid, p, None),
            (S::New, Event::Interrupted, p, None),
        ];
        for (i, (state, event, policy, expected)) in table.iter().enumerate() {
            assert_eq!(
                next(*state, *event, *policy),
                *expected,
                "row {i}: {state:?} + {event:?}"
            );
        }
    }

    #[test]
    fn the_content_hash_ignores_secrets_and_sees_the_rest() {
        let user = |email: &str, password: &str, code: &str| {
            let mut user = NewUser::builder()
                .username("ada")
                .email(email)
                .password(password)
                .build();
            user.attributes
                .insert("digitaniumActivationCode".into(), code.into());
            user.attributes.insert("tier".into(), "gold".into());
            user
        };
        let a = content_hash(&user("a@x.io", "pw-1", "c-1"));
        assert_eq!(a.len(), 16);
        assert_eq!(a, content_hash(&user("a@x.io", "pw-2", "c-2")));
        assert_ne!(a, content_hash(&user("b@x.io", "pw-1", "c-1")));
        assert!(!a.contains("pw-1"));
    }

    #[test]
    fn the_content_hash_covers_the_vendor_sections_but_not_their_secrets() {
        let entrust = |external_id: &str| {
            content_hash(
                &NewUser::builder()
                    .username("ada")
                    .entrust("externalId", external_id)
                    .build(),
            )
        };
        assert_ne!(entrust("hr-41"), entrust("hr-42"));
        let plain = content_hash(&NewUser::builder().username("ada").build());
        assert_ne!(plain, entrust("hr-42"));
        let nexway = |password: &str| {
            content_hash(
                &NewUser::builder()
                    .email("a@x.io")
                    .nexway("password", password)
                    .build(),
            )
        };
        assert_eq!(nexway("pw-1"), nexway("pw-2"));
        let mid = |value: &str, temporary: bool| {
            content_hash(
                &NewUser::builder()
                    .username("ada")
                    .mid(
                        "credentials",
                        serde_json::json!([{"value": value, "temporary": temporary}]),
                    )
                    .build(),
            )
        };
        assert_eq!(mid("pw-1", true), mid("pw-2", true));
        assert_ne!(mid("pw-1", true), mid("pw-1", false));
    }

    #[test]
    fn journal_states() {
        assert_eq!(SEND.journal(), State::Sending);
        assert_eq!(S::Exists.journal(), State::Exists);
        assert_eq!(S::Refused.journal(), State::Refused);
        assert_eq!(S::NotSent.journal(), State::Failed);
    }
}
