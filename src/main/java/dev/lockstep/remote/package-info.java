/**
 * Remote participants: processes that take part in replication through a small HTTP
 * protocol, configured under {@code lockstep.participants.remote}.
 */
package dev.lockstep.remote;
