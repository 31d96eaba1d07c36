package dev.lockstep.api;

import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.validation.constraints.NotNull;

/**
 * Body of {@code POST /api/v1/replication/stop}.
 *
 * @param failover whether this node takes over from a failed peer ({@code true}), or
 * replication is ending as planned ({@code false})
 */
record StopRequest(@Schema(requiredMode = Schema.RequiredMode.REQUIRED, example = "false") @NotNull Boolean failover) {
}
