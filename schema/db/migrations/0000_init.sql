CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"email" varchar(254) NOT NULL,
	"display_name" varchar(20) NOT NULL,
	"password_hash" text NOT NULL,
	"avatar_key" text,
	"avatar_updated_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "meetings" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"link_id" char(22) NOT NULL,
	"host_id" uuid NOT NULL,
	"title" varchar(200) NOT NULL,
	"scheduled_start" timestamp with time zone,
	"passcode" varchar(10),
	"allow_guests" boolean DEFAULT true NOT NULL,
	"waiting_room" boolean DEFAULT false NOT NULL,
	"max_participants" integer DEFAULT 100 NOT NULL,
	"status" text DEFAULT 'scheduled' NOT NULL,
	"started_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "analytics_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"key" varchar(128) NOT NULL,
	"meeting_id" uuid NOT NULL,
	"event" varchar(32) NOT NULL,
	"participant_id" varchar(64),
	"props" jsonb NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "history_dead_letters" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"message_id" varchar(128) NOT NULL,
	"queue" varchar(128) NOT NULL,
	"body" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "history_dead_letters_message_id_unique" UNIQUE("message_id")
);
--> statement-breakpoint
CREATE TABLE "messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"key" varchar(128) NOT NULL,
	"meeting_id" uuid NOT NULL,
	"participant_id" varchar(64) NOT NULL,
	"user_id" uuid,
	"display_name" varchar(20) NOT NULL,
	"text" text NOT NULL,
	"sent_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "participants" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"meeting_id" uuid NOT NULL,
	"participant_id" varchar(64) NOT NULL,
	"user_id" uuid,
	"display_name" varchar(20),
	"role" text,
	"joined_at" timestamp with time zone,
	"left_at" timestamp with time zone,
	"leave_reason" varchar(64)
);
--> statement-breakpoint
CREATE TABLE "recordings" (
	"id" uuid PRIMARY KEY NOT NULL,
	"meeting_id" uuid NOT NULL,
	"meeting_link_id" varchar(22) NOT NULL,
	"status" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"duration_ms" bigint,
	"bytes" bigint,
	"files" jsonb NOT NULL,
	"error" text,
	"status_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "meetings" ADD CONSTRAINT "meetings_host_id_users_id_fk" FOREIGN KEY ("host_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_key" ON "users" USING btree ("email");--> statement-breakpoint
CREATE UNIQUE INDEX "meetings_link_id_key" ON "meetings" USING btree ("link_id");--> statement-breakpoint
CREATE INDEX "meetings_host_scheduled_idx" ON "meetings" USING btree ("host_id","scheduled_start");--> statement-breakpoint
CREATE UNIQUE INDEX "analytics_events_key_key" ON "analytics_events" USING btree ("key");--> statement-breakpoint
CREATE INDEX "analytics_events_meeting_at_idx" ON "analytics_events" USING btree ("meeting_id","at");--> statement-breakpoint
CREATE INDEX "analytics_events_at_idx" ON "analytics_events" USING btree ("at");--> statement-breakpoint
CREATE UNIQUE INDEX "messages_key_key" ON "messages" USING btree ("key");--> statement-breakpoint
CREATE INDEX "messages_meeting_sent_idx" ON "messages" USING btree ("meeting_id","sent_at");--> statement-breakpoint
CREATE UNIQUE INDEX "participants_meeting_participant_key" ON "participants" USING btree ("meeting_id","participant_id");--> statement-breakpoint
CREATE INDEX "participants_user_idx" ON "participants" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "recordings_meeting_idx" ON "recordings" USING btree ("meeting_id","started_at");