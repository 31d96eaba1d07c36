package dev.lockstep.security;

import jakarta.servlet.DispatcherType;

import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpMethod;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.annotation.web.configurers.AbstractHttpConfigurer;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.config.observation.SecurityObservationSettings;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.AnonymousAuthenticationFilter;

/**
 * Who may call what. Lifecycle calls ({@code POST /api/**}) always need the API token,
 * and by default so do the API's {@code GET}s; probes, Swagger UI, the OpenAPI document
 * and (by default) metrics are open.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(SecurityProperties.class)
public class SecurityConfiguration {

	@Bean
	ApiToken apiToken(SecurityProperties properties) {
		return ApiToken.resolve(properties);
	}

	/**
	 * Keeps Spring Security from observing every filter, authentication and authorization
	 * of every request: without this it wraps each filter of the chain on every request,
	 * even when the observations themselves are turned off. Requests are measured as
	 * {@code http.server.requests} already.
	 * {@code management.observations.enable.spring.security=true} brings them back.
	 */
	@Bean
	@ConditionalOnProperty(name = "management.observations.enable.spring.security", havingValue = "false",
			matchIfMissing = true)
	SecurityObservationSettings noSecurityObservations() {
		return SecurityObservationSettings.noObservations();
	}

	@Bean
	SecurityFilterChain lockstepSecurity(HttpSecurity http, ApiToken token, SecurityProperties properties) {
		ProblemAuthenticationEntryPoint entryPoint = new ProblemAuthenticationEntryPoint();
		http.csrf(AbstractHttpConfigurer::disable)
			.formLogin(AbstractHttpConfigurer::disable)
			.httpBasic(AbstractHttpConfigurer::disable)
			.logout(AbstractHttpConfigurer::disable)
			.requestCache(AbstractHttpConfigurer::disable)
			.sessionManagement((session) -> session.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
			.addFilterBefore(new RequestBodyLimitFilter(properties.maxRequestBody().toBytes()),
					AnonymousAuthenticationFilter.class)
			.addFilterBefore(new BearerTokenFilter(token, properties.tokenName()), AnonymousAuthenticationFilter.class)
			.exceptionHandling((exceptions) -> exceptions.authenticationEntryPoint(entryPoint))
			.authorizeHttpRequests((requests) -> {
				// An async dispatch finishes a response whose request was authorised when
				// it came in (the end of an event stream); the token filter, which runs
				// once per request, does not see it again, so it must not be refused.
				requests.dispatcherTypeMatchers(DispatcherType.ASYNC).permitAll();
				requests.requestMatchers(HttpMethod.POST, "/api/**").authenticated();
				if (!properties.openReads()) {
					requests.requestMatchers("/api/**").authenticated();
				}
				if (properties.prometheusRequiresToken()) {
					requests.requestMatchers("/actuator/prometheus").authenticated();
				}
				requests.anyRequest().permitAll();
			});
		return http.build();
	}

}
