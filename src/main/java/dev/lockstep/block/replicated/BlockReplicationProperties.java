package dev.lockstep.block.replicated;

import java.net.URI;
import java.time.Duration;
import java.util.List;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.ConstructorBinding;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;
import dev.lockstep.block.replicated.protocol.ReplicationKind;

/**
 * Block replication settings. They share the {@code lockstep.block} prefix with the disk
 * engine, which owns the other keys: this record binds only {@code peer}, each disk's
 * {@code name} and {@code replication}, and the {@code replication} group.
 *
 * <pre>
 * lockstep:
 *   block:
 *     peer: nbd://10.0.0.2:10809      # the secondary, used when this node is primary
 *     disks:
 *       - { name: disk0, path: ./data/disk0.img, size: 1GiB, replication: colo }
 *     replication:
 *       timeout: 30m                  # deadline of each lifecycle call, incl. the initial sync
 * </pre>
 *
 * @param peer the peer's NBD server, {@code nbd://host:port}
 * @param disks the disks, by name, with their replication kind
 * @param replication participant settings
 * @param replica who may use this node's replica exports when it is the secondary
 */
@Validated
@ConfigurationProperties("lockstep.block")
public record BlockReplicationProperties(@Nullable URI peer, @Valid List<Disk> disks,
		@Valid @DefaultValue Replication replication, @Valid @DefaultValue Replica replica) {

	@ConstructorBinding
	public BlockReplicationProperties {
		disks = (disks != null) ? List.copyOf(disks) : List.of();
		if (peer != null && !"nbd".equalsIgnoreCase(peer.getScheme()) && !"nbds".equalsIgnoreCase(peer.getScheme())) {
			throw new IllegalArgumentException(
					"lockstep.block.peer must be an nbd://host:port or nbds://host:port URL, got '" + peer + "'");
		}
		if (peer != null && (peer.getHost() == null || peer.getHost().isEmpty())) {
			throw new IllegalArgumentException(
					"lockstep.block.peer must name a host: nbd://host:port, got '" + peer + "'");
		}
	}

	public BlockReplicationProperties(@Nullable URI peer, List<Disk> disks, Replication replication) {
		this(peer, disks, replication, new Replica(List.of()));
	}

	/** Whether the link to the peer must use TLS ({@code nbds://}). */
	public boolean peerTls() {
		return this.peer != null && "nbds".equalsIgnoreCase(this.peer.getScheme());
	}

	/** Returns the replication kind configured for a disk, {@code colo} by default. */
	public ReplicationKind kindOf(String disk) {
		for (Disk candidate : this.disks) {
			if (disk.equals(candidate.name()) && candidate.replication() != null) {
				return candidate.replication();
			}
		}
		return ReplicationKind.COLO;
	}

	/**
	 * A disk's replication setting.
	 *
	 * @param name the disk's name, as configured for the engine
	 * @param replication {@code colo} (default) or {@code mirror}
	 */
	public record Disk(@NotBlank String name, ReplicationKind replication) {
	}

	/**
	 * Who may use the replica exports, {@code lockstep.block.replica}.
	 *
	 * @param allowedPeers names, each of which must appear exactly (DNS names without
	 * regard to case) among the subject alternative names of a client's certificate for
	 * it to use the {@code <disk>.replica}, hash and lineage exports; when set, those
	 * exports are served only over TLS. Empty: no certificate check.
	 */
	public record Replica(List<String> allowedPeers) {

		public Replica {
			allowedPeers = (allowedPeers != null) ? List.copyOf(allowedPeers) : List.of();
		}

	}

	/**
	 * Participant settings.
	 *
	 * @param name the participant's name in the coordinator
	 * @param order the participant's order among all participants
	 * @param timeout the deadline of each lifecycle call; long enough for an initial
	 * synchronisation of the largest disk
	 * @param progressInterval how often a running synchronisation logs its progress
	 * @param forwardTimeout how long a primary write waits for the secondary before the
	 * secondary is declared unreachable and the write completes locally only
	 * @param connectTimeout the limit for connecting to the peer
	 * @param maxInFlight the most forwarded requests in flight per disk
	 * @param probeInterval how often a primary checks that the secondary still answers,
	 * so that a peer lost while the disk is idle is reported; 0 disables
	 */
	public record Replication(@DefaultValue("block") @NotBlank String name, @DefaultValue("0") int order,
			@DefaultValue("30m") Duration timeout, @DefaultValue("5s") Duration progressInterval,
			@DefaultValue("10s") Duration forwardTimeout, @DefaultValue("10s") Duration connectTimeout,
			@DefaultValue("64") @Min(1) @Max(1024) int maxInFlight, @DefaultValue("5s") Duration probeInterval) {
	}

}
