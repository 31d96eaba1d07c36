package dev.lockstep.pair;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import org.jspecify.annotations.Nullable;

import tools.jackson.databind.JsonNode;

/**
 * Both nodes of the pair side by side, for {@code GET /api/v1/pair}.
 *
 * @param self this node
 * @param peer the peer, or {@code null} if it could not be reached
 * @param peerApi the peer's API URL
 * @param peerReachable whether the peer answered
 * @param peerProblem why the peer could not be asked, or {@code null}
 * @param primary which node runs as primary, or {@code null} if neither
 * @param inSync whether the pair replicates with nothing left to copy: one node runs as
 * primary and the other as secondary, every disk forwards its writes, no synchronisation
 * runs and no chunk is marked dirty
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PairView(NodeView self, @Nullable NodeView peer, String peerApi, boolean peerReachable,
		@Nullable String peerProblem, @Nullable PairNode primary, boolean inSync) {

	/**
	 * One node as the pair view shows it.
	 *
	 * @param state its lifecycle state
	 * @param mode its mode while running
	 * @param busy whether it runs an operation now
	 * @param errors each participant's current error, as {@code participant: error}
	 * @param disks each replicated disk
	 */
	public record NodeView(String state, @Nullable String mode, boolean busy, List<String> errors,
			List<DiskSummary> disks) {

		static NodeView of(MemberStatus status) {
			List<String> errors = new ArrayList<>();
			List<DiskSummary> disks = new ArrayList<>();
			for (JsonNode participant : status.document().path("participants")) {
				JsonNode error = participant.get("lastError");
				if (error != null && error.isString()) {
					errors.add(participant.path("name").asString("") + ": " + error.asString());
				}
				for (JsonNode disk : participant.path("details").path("disks")) {
					disks.add(new DiskSummary(disk.path("disk").asString(""), disk.path("role").asString(""),
							disk.path("forwarding").asBoolean(false), disk.path("dirtyBytes").asLong(0),
							disk.path("sync").path("running").asBoolean(false)));
				}
			}
			return new NodeView(status.state().name(), (status.mode() != null) ? status.mode().value() : null,
					status.busy(), errors, disks);
		}

	}

	/**
	 * One replicated disk of a node.
	 *
	 * @param disk its name
	 * @param role its replication role
	 * @param forwarding whether its writes are forwarded to the secondary
	 * @param dirtyBytes bytes marked for the next synchronisation
	 * @param synchronising whether a synchronisation runs
	 */
	public record DiskSummary(String disk, String role, boolean forwarding, long dirtyBytes, boolean synchronising) {

		boolean inSync() {
			return this.forwarding && this.dirtyBytes == 0 && !this.synchronising;
		}

	}

}
