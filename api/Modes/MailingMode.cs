using System.Text.Json.Serialization;
using BulkMail.Api.Infrastructure;

namespace BulkMail.Api.Modes;

/// <summary>The six ways to mail (docs/architecture.md, "Modes"). Below every feature that speaks of modes: templates
/// (tags per mode) and mailings.</summary>
[JsonConverter(typeof(StrictEnumConverter<MailingMode>))]
public enum MailingMode { Resumes, Recruiters, JobToResumes, ResumesToRecruiter, JobsToResume, ResumeToRecruiters }
