package dev.lockstep.api;

import dev.lockstep.replication.ReplicationMode;
import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.validation.constraints.NotNull;
import org.jspecify.annotations.Nullable;

/**
 * Body of {@code POST /api/v1/replication/start}.
 *
 * @param mode the role of this node
 * @param discardLocalChanges with {@code secondary}: let the primary overwrite this
 * node's own changes, the way out of a split brain; not allowed with {@code primary}
 */
record StartRequest(@Schema(requiredMode = Schema.RequiredMode.REQUIRED, example = "secondary", allowableValues = {
		"primary", "secondary" }, type = "string") @NotNull ReplicationMode mode,
		@Schema(description = "With secondary: let the primary overwrite this node's own changes, including "
				+ "those made after the nodes separated (a split brain). Choose it on the node whose changes are "
				+ "discarded; see docs/replication.md. Not allowed with primary.", defaultValue = "false",
				example = "false") @Nullable Boolean discardLocalChanges){

	/**
	 * Whether the caller lets the primary overwrite this node's changes.
	 */
	boolean discards() {
		return Boolean.TRUE.equals(this.discardLocalChanges);
	}

}
