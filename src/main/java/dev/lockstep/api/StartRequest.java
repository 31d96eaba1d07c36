package dev.lockstep.api;

import dev.lockstep.replication.ReplicationMode;
import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.validation.constraints.NotNull;

/**
 * Body of {@code POST /api/v1/replication/start}.
 *
 * @param mode the role of this node
 */
record StartRequest(@Schema(requiredMode = Schema.RequiredMode.REQUIRED, example = "secondary", allowableValues = {
		"primary", "secondary" }, type = "string") @NotNull ReplicationMode mode){
}
