package dev.lockstep.remote;

import java.net.URI;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.InitializingBean;
import org.springframework.util.Assert;

import dev.lockstep.replication.CoordinatorProperties;
import dev.lockstep.replication.ParticipantKind;
import dev.lockstep.replication.ParticipantRegistry;
import dev.lockstep.replication.ReplicationParticipant;

/**
 * Registers every configured remote participant when the service starts, in configuration
 * order, and starts polling its errors. On shutdown the polls stop and the participants
 * are unregistered. A participant that cannot be registered, such as one whose name a
 * bean participant already has, stops start-up.
 */
final class RemoteParticipantRegistrar implements InitializingBean, DisposableBean {

	private static final Log logger = LogFactory.getLog(RemoteParticipantRegistrar.class);

	private final ParticipantRegistry registry;

	private final RemoteParticipantProperties properties;

	private final CoordinatorProperties coordinatorProperties;

	private final RemoteParticipantClients clients;

	private final RemoteErrorPoller poller;

	private final Clock clock;

	private final List<AutoCloseable> handles = new ArrayList<>();

	private final List<RemoteParticipant> participants = new ArrayList<>();

	RemoteParticipantRegistrar(ParticipantRegistry registry, RemoteParticipantProperties properties,
			CoordinatorProperties coordinatorProperties, RemoteParticipantClients clients, RemoteErrorPoller poller,
			Clock clock) {
		this.registry = registry;
		this.properties = properties;
		this.coordinatorProperties = coordinatorProperties;
		this.clients = clients;
		this.poller = poller;
		this.clock = clock;
	}

	@Override
	public void afterPropertiesSet() {
		List<RemoteParticipantProperties.Remote> remotes = this.properties.remote();
		for (int i = 0; i < remotes.size(); i++) {
			RemoteParticipantProperties.Remote remote = remotes.get(i);
			String name = remote.name();
			URI url = remote.url();
			Assert.state(name != null && url != null, "RemoteParticipantProperties refuses a remote without both");
			RemoteParticipantClient client;
			try {
				client = this.clients.client(remote, "lockstep.participants.remote[" + i + "]");
			}
			catch (IllegalStateException ex) {
				destroy();
				throw ex;
			}
			RemoteParticipant participant = new RemoteParticipant(name, url, remote.order(), remote.timeout(),
					this.coordinatorProperties.callTimeout(), this.properties.errorPollTimeout(), client, this.clock,
					remote.phases());
			ParticipantRegistry.Registration registration;
			try {
				registration = this.registry.register(participant, remote.order(), ParticipantKind.REMOTE);
			}
			catch (IllegalArgumentException ex) {
				destroy();
				throw new IllegalStateException("lockstep.participants.remote[" + i + "] ('" + remote.name()
						+ "') cannot be registered: " + ex.getMessage(), ex);
			}
			this.handles.add(registration);
			this.handles.add(this.poller.watch(participant));
			this.participants.add(participant);
			logger.info("Registered " + participant + " with order " + remote.order() + " and a deadline of "
					+ RemoteParticipantClient
						.describe(participant.timeout().orElse(this.coordinatorProperties.callTimeout())));
		}
	}

	/**
	 * Returns the registered remote participants, in configuration order.
	 */
	List<ReplicationParticipant> participants() {
		return List.copyOf(this.participants);
	}

	@Override
	public void destroy() {
		for (int i = this.handles.size() - 1; i >= 0; i--) {
			try {
				this.handles.get(i).close();
			}
			catch (Exception ex) {
				logger.warn("Could not release " + this.handles.get(i), ex);
			}
		}
		this.handles.clear();
		this.participants.clear();
	}

}
