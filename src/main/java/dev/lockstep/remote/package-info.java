/**
 * Remote participants: processes that take part in replication through a small HTTP
 * protocol, configured under {@code lockstep.participants.remote}. May depend on the
 * participant contract and registry in {@code dev.lockstep.replication}; the core does
 * not depend on it.
 */
@NullMarked
package dev.lockstep.remote;

import org.jspecify.annotations.NullMarked;
