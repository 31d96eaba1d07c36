/**
 * The application: {@link dev.lockstep.LockstepApplication} starts the service. The
 * packages below hold the coordinator ({@code replication}), the disks and their NBD
 * server and replication ({@code block}), the HTTP API ({@code api}), its security
 * ({@code security}), remote participants ({@code remote}), health indicators
 * ({@code health}) and log-safe text ({@code logging}).
 */
@NullMarked
package dev.lockstep;

import org.jspecify.annotations.NullMarked;
